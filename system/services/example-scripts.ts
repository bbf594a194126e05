import type { Language } from '../domain/runtimes.js';

/** One small example program per language, shown in the editor. */
export const EXAMPLE_SCRIPTS: Record<Language, string> = {
  python: `import sys\n\nprint("Hello from Python", sys.version.split()[0])\nprint(sum(i * i for i in range(10)))\n`,
  node: `const greet = (name) => \`Hello from \${name}\`;\nconsole.log(greet('JavaScript'), process.version);\nconsole.log([1, 2, 3].map((x) => x * x));\n`,
  typescript: `interface User { name: string; langs: string[] }\n\nconst u: User = { name: 'TypeScript', langs: ['ts'] };\nconsole.log(\`Hello from \${u.name}\`, u.langs.length);\n`,
  ruby: `puts "Hello from Ruby #{RUBY_VERSION}"\nputs (1..5).map { |i| i * i }.inspect\n`,
  go: `package main\n\nimport (\n\t"fmt"\n\t"runtime"\n)\n\nfunc main() {\n\tfmt.Println("Hello from Go", runtime.Version())\n}\n`,
  bash: `echo "Hello from Bash $BASH_VERSION"\nfor i in 1 2 3; do echo "line $i"; done\n`,
};
