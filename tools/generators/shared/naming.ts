import { names } from '@nx/devkit';

/** A service name: it becomes a database (`platform_<name>`), roles (`<name>_svc`), topics and Kubernetes names, so lower-case letters and digits only. */
const SERVICE_NAME = /^[a-z][a-z0-9]{1,30}$/;
/** A use case or saga name: part of its consumer group `<service>.<name>`, kebab-case. */
const KEBAB_NAME = /^[a-z][a-z0-9]*(-[a-z0-9]+)*$/;

export function assertServiceName(name: string): void {
  if (!SERVICE_NAME.test(name)) {
    throw new Error(`service name "${name}": use lower-case letters and digits only (it names a database, two roles, topics and Kubernetes objects)`);
  }
}

/** `invoice-issued`, `InvoiceIssued` or `invoiceIssued` as every spelling a generator needs. */
export function spellings(name: string): { kebab: string; pascal: string; camel: string; snake: string } {
  const n = names(name);
  const kebab = n.fileName;
  if (!KEBAB_NAME.test(kebab)) throw new Error(`name "${name}": use letters, digits and dashes, starting with a letter`);
  return { kebab, pascal: n.className, camel: n.propertyName, snake: kebab.replace(/-/g, '_') };
}
