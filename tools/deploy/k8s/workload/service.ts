import type { IService } from 'kubernetes-models/v1/Service';
import { selectorLabels, serviceLabels } from '../labels';

/** In-cluster address `<service>.<namespace>:<port>`, the same port as in compose and locally. */
export function service(model: { readonly name: string; readonly port: number }): IService {
  return {
    apiVersion: 'v1',
    kind: 'Service',
    metadata: { name: model.name, labels: serviceLabels(model.name, 'service') },
    spec: {
      type: 'ClusterIP',
      selector: selectorLabels(model.name),
      ports: [{ name: 'http', port: model.port, targetPort: 'http', protocol: 'TCP' }],
    },
  };
}
