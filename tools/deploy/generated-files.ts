import { KafkaNaming } from '@platform/messaging';
import { loadServices, type ServiceModel } from './catalog/load-services';
import { createTopicsScript } from './compose/create-topics-script';
import { initDatabasesSql } from './compose/init-databases-sql';
import { serviceAcls } from './kafka/acls';
import { assertEachEventHasOnePublisher, ownedTopics } from './kafka/topics';
import { databaseClusterResource } from './k8s/cnpg';
import { BASE_FILES, baseKustomization, GENERATED_FILES, generatedKustomization } from './k8s/kustomizations';
import { kafkaTopic, kafkaUser } from './k8s/strimzi';
import { horizontalPodAutoscaler, podDisruptionBudget } from './k8s/workload/autoscaling';
import { configEnv } from './k8s/workload/config-env';
import { deployment } from './k8s/workload/deployment';
import { networkPolicy } from './k8s/workload/network-policy';
import { service } from './k8s/workload/service';
import { renderEnvFile, renderYaml } from './render/yaml';
import { SETTINGS } from './settings';

export const COMPOSE_TOPICS_SCRIPT = 'docker/generated/create-topics.sh';
export const COMPOSE_INIT_SQL = 'docker/generated/init-databases.sql';

function serviceFiles(model: ServiceModel, naming: KafkaNaming): [string, string][] {
  const base = `k8s/base/${model.name}`;
  const generated = `k8s/generated/${model.name}`;
  return [
    [`${generated}/kustomization.yaml`, renderYaml([generatedKustomization()])],
    [`${generated}/${GENERATED_FILES.topics}`, renderYaml(ownedTopics(model, naming).map((spec) => kafkaTopic(model.name, spec)))],
    [`${generated}/${GENERATED_FILES.user}`, renderYaml([kafkaUser(model.name, serviceAcls(model, naming))])],
    [`${generated}/${GENERATED_FILES.database}`, renderYaml([databaseClusterResource(model.name)])],
    [`${base}/kustomization.yaml`, renderYaml([baseKustomization(model)])],
    [`${base}/${BASE_FILES.config}`, renderEnvFile(configEnv(model))],
    [`${base}/${BASE_FILES.deployment}`, renderYaml([deployment(model)])],
    [`${base}/${BASE_FILES.service}`, renderYaml([service(model)])],
    [`${base}/${BASE_FILES.hpa}`, renderYaml([horizontalPodAutoscaler(model)])],
    [`${base}/${BASE_FILES.pdb}`, renderYaml([podDisruptionBudget(model)])],
    [`${base}/${BASE_FILES.networkPolicy}`, renderYaml([networkPolicy(model)])],
  ];
}

/**
 * Every generated file, path (relative to the repository root) to content, computed from the
 * contracts, the service catalog and the app declarations. Pure: generate.ts writes it, the
 * tests compare it with what is committed.
 */
export async function generatedFiles(services?: readonly ServiceModel[]): Promise<Map<string, string>> {
  const models = services ?? (await loadServices());
  assertEachEventHasOnePublisher(models);
  const naming = new KafkaNaming(SETTINGS.kafka.topicNamespace);
  const files = new Map<string, string>(models.flatMap((model) => serviceFiles(model, naming)));
  files.set(COMPOSE_TOPICS_SCRIPT, createTopicsScript(models.flatMap((model) => ownedTopics(model, naming))));
  files.set(COMPOSE_INIT_SQL, initDatabasesSql(models.map((model) => model.name)));
  return files;
}
