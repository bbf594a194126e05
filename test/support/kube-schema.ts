/**
 * Validates Kubernetes objects twice over: against the API's OpenAPI schemas (kubernetes-models' compiled
 * validators: types, enums, required fields, formats) and strictly for unknown fields (which those schemas let
 * through) against @kubernetes/client-node's model attribute maps, as `kubectl --validate=strict` would.
 */
import * as k8s from '@kubernetes/client-node';

interface Attribute {
  baseName: string;
  type: string;
}
type ModelClass = { getAttributeTypeMap(): Attribute[] };
type Validatable = new (data: unknown) => { validate(): void };

const models = k8s as unknown as Record<string, ModelClass | undefined>;

/** The model module path of an apiVersion and kind in kubernetes-models ("v1" → v1/Pod, "apps/v1" → apps/v1/Deployment). */
async function schemaModel(apiVersion: string, kind: string): Promise<Validatable | null> {
  try {
    const specifier = `kubernetes-models/${apiVersion}/${kind}`;
    const mod = (await import(/* @vite-ignore */ specifier)) as Record<string, Validatable>;
    return mod[kind] ?? null;
  } catch {
    return null;
  }
}

/** Unknown fields of `value` read as `type` (a client-node model type name), with their paths. */
function unknownFields(value: unknown, type: string, path: string): string[] {
  if (value === null || value === undefined) return [];
  const array = /^Array<(.+)>$/.exec(type);
  if (array) return Array.isArray(value) ? value.flatMap((v, i) => unknownFields(v, array[1]!, `${path}[${i}]`)) : [`${path}: expected a list`];
  const map = /^\{ \[key: string\]: (.+); \}$/.exec(type);
  if (map) return typeof value === 'object' ? Object.entries(value as object).flatMap(([k, v]) => unknownFields(v, map[1]!, `${path}.${k}`)) : [`${path}: expected a map`];
  const model = models[type];
  if (!model || typeof model.getAttributeTypeMap !== 'function') return [];
  if (typeof value !== 'object' || Array.isArray(value)) return [`${path}: expected an object`];
  const attrs = model.getAttributeTypeMap();
  return Object.entries(value as Record<string, unknown>).flatMap(([key, v]) => {
    const attr = attrs.find((a) => a.baseName === key);
    return attr ? unknownFields(v, attr.type, `${path}.${key}`) : [`${path}.${key}: unknown field`];
  });
}

/** Every schema error of one object (empty: valid); an apiVersion/kind without a schema is itself an error. */
export async function schemaErrors(obj: unknown): Promise<string[]> {
  const o = obj as { apiVersion?: unknown; kind?: unknown };
  if (typeof o?.apiVersion !== 'string' || typeof o.kind !== 'string') return ['apiVersion and kind are required'];
  const Model = await schemaModel(o.apiVersion, o.kind);
  if (!Model) return [`no schema for ${o.apiVersion} ${o.kind}`];
  const errors: string[] = [];
  try {
    new Model(JSON.parse(JSON.stringify(obj))).validate();
  } catch (err) {
    errors.push(String(err instanceof Error ? err.message : err));
  }
  const version = o.apiVersion.split('/').pop()!;
  const typeName = `${version[0]!.toUpperCase()}${version.slice(1)}${o.kind}`;
  if (!models[typeName]) errors.push(`no client-node model ${typeName} for strict field checks`);
  else errors.push(...unknownFields(JSON.parse(JSON.stringify(obj)), typeName, o.kind));
  return errors;
}
