/** The OpenAPI 3.1 document, generated from the router's table and each route's RouteDoc (the schemas the handlers validate with). */
import { z } from 'zod';
import type { RouteDoc, RouteInfo } from './router.js';

/** A JSON Schema object as zod emits it. */
export type JsonSchema = Record<string, unknown>;

/** One operation of the document. */
export interface OpenApiOperation {
  operationId: string;
  summary: string;
  tags?: string[];
  parameters?: Array<{ name: string; in: 'path' | 'query'; required: boolean; schema: JsonSchema; style?: string; explode?: boolean }>;
  requestBody?: { required: boolean; content: Record<string, { schema: JsonSchema }> };
  responses: Record<string, { description: string; content?: Record<string, { schema: JsonSchema }> }>;
  security?: Array<Record<string, string[]>>;
  'x-auth': 'public' | 'user' | 'admin' | 'unknown';
}

/** The document: `paths[path][method]`. */
export interface OpenApiDocument {
  openapi: '3.1.0';
  info: { title: string; version: string; description: string };
  paths: Record<string, Record<string, OpenApiOperation>>;
  components: { schemas: Record<string, JsonSchema>; securitySchemes: Record<string, JsonSchema> };
}

/** Title, version and description of the API. */
export interface OpenApiInfo {
  title: string;
  version: string;
  description: string;
}

const DEFAULT_INFO: OpenApiInfo = {
  title: 'Integr8s-TS',
  version: '0.1.0',
  description: 'Code-execution platform: run scripts in sandboxes, stream their progress over SSE (Integr8sCode-compatible /api/v1).',
};

const ERROR_REF = { $ref: '#/components/schemas/Error' };
const UNSAFE = new Set(['POST', 'PUT', 'PATCH', 'DELETE']);

/** A zod schema as JSON Schema; one that cannot be represented becomes `{}` (any) rather than breaking the document. */
export function toSchema(schema: z.ZodType, io: 'input' | 'output'): JsonSchema {
  try {
    const { $schema: _dialect, ...rest } = z.toJSONSchema(schema, { io, unrepresentable: 'any' }) as JsonSchema;
    return rest;
  } catch {
    return {};
  }
}

/** A stable operation id from method and path: `get_api_v1_executions_id_result`. */
export function operationId(method: string, pattern: string): string {
  const words = pattern.replace(/[{}]/g, '').split(/[^A-Za-z0-9]+/).filter(Boolean);
  return [method.toLowerCase(), ...words].join('_');
}

function pathParams(pattern: string): OpenApiOperation['parameters'] {
  return [...pattern.matchAll(/\{([A-Za-z_][A-Za-z0-9_]*)\}/g)].map((m) => ({ name: m[1]!, in: 'path' as const, required: true, schema: { type: 'string' } }));
}

function queryParams(query: z.ZodType | undefined): NonNullable<OpenApiOperation['parameters']> {
  if (!query) return [];
  const schema = toSchema(query, 'input');
  const props = (schema['properties'] ?? {}) as Record<string, JsonSchema>;
  const required = new Set((schema['required'] as string[] | undefined) ?? []);
  return Object.entries(props).map(([name, s]) => ({
    name,
    in: 'query' as const,
    required: required.has(name) && !('default' in s),
    schema: s,
    ...(s['type'] === 'array' ? { style: 'form', explode: true } : {}),
  }));
}

function requestBody(doc: RouteDoc): OpenApiOperation['requestBody'] {
  if (!doc.body) return undefined;
  const type = doc.bodyType === 'form' ? 'application/x-www-form-urlencoded' : 'application/json';
  return { required: !doc.body.safeParse(undefined).success, content: { [type]: { schema: toSchema(doc.body, 'input') } } };
}

function responses(method: string, pattern: string, doc: RouteDoc | undefined): OpenApiOperation['responses'] {
  const error = (description: string) => ({ description, content: { 'application/json': { schema: ERROR_REF } } });
  if (!doc) return { '200': { description: 'Response (not documented)' }, default: error('Error') };
  type Response = OpenApiOperation['responses'][string];
  const ok: Response = doc.stream
    ? { description: 'Server-Sent Events stream', content: { 'text/event-stream': { schema: { type: 'string' } } } }
    : { description: 'Success', ...(doc.response ? { content: { 'application/json': { schema: toSchema(doc.response, 'output') } } } : {}) };
  const out: OpenApiOperation['responses'] = { [String(doc.status ?? 200)]: ok };
  if (doc.body) out['400'] = error('Malformed body');
  if (doc.auth === 'user' || doc.auth === 'admin') out['401'] = error('Not signed in');
  if (doc.auth === 'admin' || doc.auth === 'user' || UNSAFE.has(method)) out['403'] = error('Forbidden (role, ownership or CSRF)');
  if (pattern.includes('{')) out['404'] = error('Not found');
  if (doc.body || doc.query) out['422'] = error('Validation failed (field-level detail in `errors`)');
  out['429'] = error('Rate limited');
  out['default'] = error('Error');
  return out;
}

function security(method: string, auth: RouteDoc['auth']): OpenApiOperation['security'] {
  if (auth !== 'user' && auth !== 'admin') return undefined;
  return [UNSAFE.has(method) ? { cookieAuth: [], csrfToken: [] } : { cookieAuth: [] }];
}

/** One operation for a route; undocumented routes still appear, with a generic response. */
export function operationFor(route: RouteInfo): OpenApiOperation {
  const { method, pattern, doc } = route;
  const params = [...(pathParams(pattern) ?? []), ...queryParams(doc?.query)];
  const body = doc ? requestBody(doc) : undefined;
  const sec = security(method, doc?.auth);
  return {
    operationId: operationId(method, pattern),
    summary: doc?.summary ?? `${method} ${pattern}`,
    ...(doc?.tag ? { tags: [doc.tag] } : {}),
    ...(params.length ? { parameters: params } : {}),
    ...(body ? { requestBody: body } : {}),
    responses: responses(method, pattern, doc),
    ...(sec ? { security: sec } : {}),
    'x-auth': doc?.auth ?? 'unknown',
  };
}

/** Builds the whole document from the router's table. */
export function buildOpenApi(routes: readonly RouteInfo[], info: OpenApiInfo = DEFAULT_INFO): OpenApiDocument {
  const paths: OpenApiDocument['paths'] = {};
  for (const route of routes) {
    if (route.method === 'OPTIONS' || route.method === 'HEAD') continue;
    (paths[route.pattern] ??= {})[route.method.toLowerCase()] = operationFor(route);
  }
  const sorted = Object.fromEntries(Object.entries(paths).sort(([a], [b]) => a.localeCompare(b)));
  return {
    openapi: '3.1.0',
    info,
    paths: sorted,
    components: {
      schemas: {
        Error: {
          type: 'object',
          properties: {
            detail: { type: 'string' },
            type: { type: 'string' },
            errors: { type: 'array', items: { type: 'object', properties: { field: { type: 'string' }, message: { type: 'string' } } } },
          },
          required: ['detail', 'type'],
        },
      },
      securitySchemes: {
        cookieAuth: { type: 'apiKey', in: 'cookie', name: 'access_token', description: 'Session cookie set by POST /api/v1/auth/login' },
        csrfToken: {
          type: 'apiKey',
          in: 'header',
          name: 'X-CSRF-Token',
          description: 'Must equal the csrf_token cookie on POST/PUT/PATCH/DELETE when signed in',
        },
      },
    },
  };
}
