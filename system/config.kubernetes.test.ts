import { describe, expect, it } from 'vitest';
import { ConfigError, loadConfig } from './config.js';

describe('loadConfig: the sandbox backend', () => {
  it('is bubblewrap unless SANDBOX=kubernetes', () => {
    expect(loadConfig({}).kubernetes).toBeNull();
    expect(loadConfig({ KUBECONFIG: '/etc/kube/config' }).kubernetes).toBeNull();
  });

  it('reads the Kubernetes settings, with defaults', () => {
    expect(loadConfig({ SANDBOX: 'kubernetes', KUBECONFIG: '/etc/kube/config' }).kubernetes).toEqual({
      kubeconfig: '/etc/kube/config',
      namespace: 'integr8s-executors',
      runtimeClassName: null,
      imagePrefix: '',
      hardenNamespace: true,
    });
    expect(
      loadConfig({ SANDBOX: 'kubernetes', KUBERNETES_SERVICE_HOST: '10.0.0.1', K8S_NAMESPACE: 'runs', K8S_RUNTIME_CLASS: 'gvisor', K8S_IMAGE_PREFIX: 'reg.example.com/i8s/', K8S_HARDEN_NAMESPACE: 'false' }).kubernetes,
    ).toEqual({ kubeconfig: null, namespace: 'runs', runtimeClassName: 'gvisor', imagePrefix: 'reg.example.com/i8s/', hardenNamespace: false });
  });

  it('names the variable when Kubernetes has no way to reach a cluster or a value is bad', () => {
    expect(() => loadConfig({ SANDBOX: 'kubernetes' })).toThrow(/SANDBOX: kubernetes needs KUBECONFIG/);
    expect(() => loadConfig({ SANDBOX: 'docker' })).toThrow(/SANDBOX/);
    for (const [name, value] of [['K8S_NAMESPACE', 'Not_A_Label'], ['K8S_RUNTIME_CLASS', 'G Visor'], ['K8S_IMAGE_PREFIX', 'a b/'], ['K8S_HARDEN_NAMESPACE', 'yes']] as const) {
      const run = () => loadConfig({ SANDBOX: 'kubernetes', KUBECONFIG: '/k', [name]: value });
      expect(run).toThrow(ConfigError);
      expect(run).toThrow(new RegExp(`${name}:`));
    }
  });
});
