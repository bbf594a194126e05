/**
 * RBAC as the API server evaluates it, for the rules in our manifests: a ServiceAccount's Roles (bound in their
 * namespace) and ClusterRoles (bound cluster-wide) grant verbs on resources, optionally limited to resource names.
 * It also records which granted (resource, verb) pairs were used, so a test can show no right goes unused.
 */
import type { RequestAttributes } from './kube-api-server.js';

interface Rule {
  apiGroups?: string[];
  resources?: string[];
  verbs: string[];
  resourceNames?: string[];
}
interface Doc {
  kind?: string;
  metadata?: { name?: string; namespace?: string };
  rules?: Rule[];
  roleRef?: { kind: string; name: string };
  subjects?: Array<{ kind: string; name: string; namespace?: string }>;
}

/** The authorizer for one ServiceAccount given every document of the manifests. */
export function rbacAuthorizer(docs: Doc[], sa: { name: string; namespace: string }) {
  const bindsSa = (d: Doc) => (d.subjects ?? []).some((s) => s.kind === 'ServiceAccount' && s.name === sa.name && s.namespace === sa.namespace);
  const grants: Array<{ namespace: string | null; rule: Rule }> = [];
  for (const b of docs.filter((d) => (d.kind === 'RoleBinding' || d.kind === 'ClusterRoleBinding') && bindsSa(d))) {
    const role = docs.find((d) => d.kind === b.roleRef?.kind && d.metadata?.name === b.roleRef?.name && (d.kind === 'ClusterRole' || d.metadata?.namespace === b.metadata?.namespace));
    const scope = b.kind === 'RoleBinding' ? (b.metadata?.namespace ?? null) : null;
    for (const rule of role?.rules ?? []) grants.push({ namespace: scope, rule });
  }
  /** "resource verb" pairs granted, and those used. */
  const granted = new Set(grants.flatMap((g) => (g.rule.resources ?? []).flatMap((r) => g.rule.verbs.map((v) => `${r} ${v}`))));
  const used = new Set<string>();
  const authorize = (a: RequestAttributes): boolean => {
    const resource = a.subresource ? `${a.resource}/${a.subresource}` : a.resource;
    const ok = grants.some(
      ({ namespace, rule }) =>
        (namespace === null || namespace === a.namespace) &&
        (rule.apiGroups ?? []).includes(a.apiGroup) &&
        (rule.resources ?? []).includes(resource) &&
        rule.verbs.includes(a.verb) &&
        (!rule.resourceNames?.length || rule.resourceNames.includes(a.name)),
    );
    if (ok) used.add(`${resource} ${a.verb}`);
    return ok;
  };
  return { authorize, granted, used };
}
