/**
 * The runtimes the Kubernetes backend offers: one image per language version, built from
 * deploy/runtimes/<lang>-<version>/Dockerfile, each with the wrapper at WRAPPER_PATH. Declarative entries:
 * the script's file name and the command the wrapper runs; no branches per language elsewhere.
 */
import type { Language, RuntimeCatalogue, RuntimeInfo } from '../../system/domain/runtimes.js';

/** Where the wrapper lives in every runtime image. */
export const WRAPPER_PATH = '/opt/i8s/wrapper';
/** Where the script's ConfigMap is mounted (read-only). */
export const CODE_DIR = '/code';

/** One image: a language version and how to run a script in it. */
export interface RuntimeImage {
  lang: Language;
  version: string;
  fileExt: string;
  /** The script's file name under CODE_DIR. */
  fileName: string;
  /** Image name without registry prefix or tag source: `integr8s-runtime-<lang>:<version>`. */
  image: string;
  /** argv the wrapper runs (working directory /tmp, HOME=/tmp). */
  command: readonly string[];
  env?: Readonly<Record<string, string>>;
}

const sh = (script: string) => ['/bin/sh', '-c', script] as const;
const image = (lang: Language, version: string) => `integr8s-runtime-${lang}:${version}`;

/** Every image the backend can run, in the order the API lists languages. */
export const RUNTIME_IMAGES: readonly RuntimeImage[] = [
  { lang: 'python', version: '3.11', fileExt: 'py', fileName: 'main.py', image: image('python', '3.11'), command: ['python3', '-B', `${CODE_DIR}/main.py`] },
  { lang: 'python', version: '3.12', fileExt: 'py', fileName: 'main.py', image: image('python', '3.12'), command: ['python3', '-B', `${CODE_DIR}/main.py`] },
  { lang: 'node', version: '22', fileExt: 'js', fileName: 'main.js', image: image('node', '22'), command: ['node', `${CODE_DIR}/main.js`] },
  {
    lang: 'typescript',
    version: '5',
    fileExt: 'ts',
    fileName: 'main.ts',
    image: image('typescript', '5'),
    // esbuild reports syntax errors as file:line:col on stderr and exits 1; the program never runs then
    command: sh(`esbuild --log-level=error --format=esm --platform=node --sourcemap=inline --outfile=/tmp/main.mjs ${CODE_DIR}/main.ts && exec node --enable-source-maps /tmp/main.mjs`),
  },
  { lang: 'ruby', version: '3.3', fileExt: 'rb', fileName: 'main.rb', image: image('ruby', '3.3'), command: ['ruby', '--disable-gems', `${CODE_DIR}/main.rb`] },
  {
    lang: 'go',
    version: '1.23',
    fileExt: 'go',
    fileName: 'main.go',
    image: image('go', '1.23'),
    // the image ships the compiled standard library (/opt/go-std): only the user's file is compiled per run
    command: sh(
      `/opt/go-std/tool/compile -p main -complete -importcfg /opt/go-std/importcfg -pack -o /tmp/main.a ${CODE_DIR}/main.go >&2 && ` +
        '/opt/go-std/tool/link -s -w -importcfg /opt/go-std/importcfg -buildmode=exe -o /tmp/main /tmp/main.a >&2 && rm -f /tmp/main.a && exec /tmp/main',
    ),
  },
  { lang: 'bash', version: '5.2', fileExt: 'sh', fileName: 'main.sh', image: image('bash', '5.2'), command: ['bash', `${CODE_DIR}/main.sh`] },
];

/** The catalogue of the images this deployment offers. */
export class ImageCatalogue implements RuntimeCatalogue {
  constructor(private readonly images: readonly RuntimeImage[] = RUNTIME_IMAGES) {}

  list(): RuntimeInfo[] {
    const out: RuntimeInfo[] = [];
    for (const i of this.images) {
      const entry = out.find((r) => r.lang === i.lang);
      if (entry) entry.versions.push(i.version);
      else out.push({ lang: i.lang, versions: [i.version], fileExt: i.fileExt });
    }
    return out;
  }

  find(lang: string): RuntimeInfo | undefined {
    return this.list().find((r) => r.lang === lang);
  }

  /** The image for a language version, if offered. */
  resolve(lang: string, version: string): RuntimeImage | undefined {
    return this.images.find((i) => i.lang === lang && i.version === version);
  }
}
