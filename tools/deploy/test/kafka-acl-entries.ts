import { AclOperationTypes, AclPermissionTypes, AclResourceTypes, ResourcePatternTypes, type AclEntry } from 'kafkajs';
import type { AclOperation, KafkaAcl } from '../kafka/acls';

const OPERATIONS: Record<AclOperation, AclOperationTypes> = { Read: AclOperationTypes.READ, Write: AclOperationTypes.WRITE, Describe: AclOperationTypes.DESCRIBE };

/**
 * The Admin API's bindings (CreateAcls) of the rules Strimzi's User Operator would create from a
 * KafkaUser's `simple` authorization: one ALLOW binding per resource and operation, for the principal.
 */
export function aclEntries(principal: string, acls: readonly KafkaAcl[]): AclEntry[] {
  return acls.flatMap((acl) =>
    acl.operations.map((operation) => ({
      resourceType: acl.resource.type === 'topic' ? AclResourceTypes.TOPIC : AclResourceTypes.GROUP,
      resourceName: acl.resource.name,
      resourcePatternType: acl.resource.patternType === 'literal' ? ResourcePatternTypes.LITERAL : ResourcePatternTypes.PREFIXED,
      principal: `User:${principal}`,
      host: '*',
      operation: OPERATIONS[operation],
      permissionType: AclPermissionTypes.ALLOW,
    })),
  );
}
