import { KafkaNaming } from '@platform/messaging';
import { catalogConsole, loadServices, type ServiceModel } from './catalog/load-services';
import { createTopicsScript } from './compose/create-topics-script';
import { CONSOLE_TOPOLOGY, consoleTopology } from './console/topology';
import { initDatabasesSql } from './compose/init-databases-sql';
import { consoleAcls, serviceAcls } from './kafka/acls';
import { assertEachEventHasOnePublisher, ownedTopics } from './kafka/topics';
import { databaseClusterResource } from './k8s/cnpg';
import { BASE_FILES, baseKustomization, CONSOLE_BASE_FILES, CONSOLE_GENERATED_FILES, GENERATED_FILES, generatedKustomization } from './k8s/kustomizations';
import { kafkaTopic, kafkaUser } from './k8s/strimzi';
import { horizontalPodAutoscaler, podDisruptionBudget } from './k8s/workload/autoscaling';
import { configEnv, consoleConfigEnv } from './k8s/workload/config-env';
import { consoleDeployment, deployment } from './k8s/workload/deployment';
import { consoleNetworkPolicy, networkPolicy } from './k8s/workload/network-policy';
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
    [`${base}/kustomization.yaml`, renderYaml([baseKustomization(model.name)])],
    [`${base}/${BASE_FILES.config}`, renderEnvFile(configEnv(model))],
    [`${base}/${BASE_FILES.deployment}`, renderYaml([deployment(model)])],
    [`${base}/${BASE_FILES.service}`, renderYaml([service(model)])],
    [`${base}/${BASE_FILES.hpa}`, renderYaml([horizontalPodAutoscaler(model)])],
    [`${base}/${BASE_FILES.pdb}`, renderYaml([podDisruptionBudget(model)])],
    [`${base}/${BASE_FILES.networkPolicy}`, renderYaml([networkPolicy(model)])],
  ];
}

/** The console beside the services: its workload, and a Kafka user whose ACLs cover every service's topics and groups it reads. */
function consoleFiles(console: { readonly name: string; readonly port: number }, models: readonly ServiceModel[], naming: KafkaNaming): [string, string][] {
  const base = `k8s/base/${console.name}`;
  const generated = `k8s/generated/${console.name}`;
  return [
    [`${generated}/kustomization.yaml`, renderYaml([generatedKustomization(CONSOLE_GENERATED_FILES)])],
    [`${generated}/${GENERATED_FILES.user}`, renderYaml([kafkaUser(console.name, consoleAcls(models, naming))])],
    [`${base}/kustomization.yaml`, renderYaml([baseKustomization(console.name, CONSOLE_BASE_FILES)])],
    [`${base}/${BASE_FILES.config}`, renderEnvFile(consoleConfigEnv(console, models))],
    [`${base}/${BASE_FILES.deployment}`, renderYaml([consoleDeployment(console)])],
    [`${base}/${BASE_FILES.service}`, renderYaml([service(console)])],
    [`${base}/${BASE_FILES.networkPolicy}`, renderYaml([consoleNetworkPolicy(console, models)])],
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
  const files = new Map<string, string>([...models.flatMap((model) => serviceFiles(model, naming)), ...consoleFiles(catalogConsole(), models, naming)]);
  files.set(COMPOSE_TOPICS_SCRIPT, createTopicsScript(models.flatMap((model) => ownedTopics(model, naming))));
  files.set(COMPOSE_INIT_SQL, initDatabasesSql(models.map((model) => model.name)));
  files.set(CONSOLE_TOPOLOGY, consoleTopology(models));
  return files;
}
