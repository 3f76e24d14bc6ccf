package org.saestream.cluster;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import com.fasterxml.jackson.dataformat.yaml.YAMLMapper;
import io.fabric8.kubernetes.api.model.ConfigMap;
import io.fabric8.kubernetes.api.model.PersistentVolumeClaim;
import io.fabric8.kubernetes.api.model.Service;
import io.fabric8.kubernetes.api.model.apps.Deployment;
import io.fabric8.kubernetes.api.model.apps.StatefulSet;
import io.strimzi.api.kafka.model.kafka.Kafka;
import io.strimzi.api.kafka.model.kafka.listener.GenericKafkaListener;
import io.strimzi.api.kafka.model.nodepool.KafkaNodePool;
import io.strimzi.api.kafka.model.nodepool.ProcessRoles;
import io.strimzi.api.kafka.model.topic.KafkaTopic;
import io.strimzi.api.kafka.model.user.KafkaUser;
import org.apache.flink.configuration.CheckpointingOptions;
import org.apache.flink.configuration.ConfigOption;
import org.apache.flink.configuration.CoreOptions;
import org.apache.flink.configuration.RestartStrategyOptions;
import org.apache.flink.configuration.StateBackendOptions;
import org.apache.flink.configuration.TaskManagerOptions;
import org.junit.jupiter.api.Test;
import org.saestream.cli.Main;
import org.saestream.jobs.ExperimentFile;
import org.saestream.jobs.SaeTrainingJob;
import org.saestream.topics.TopicCatalog;
import org.saestream.topics.TopicSpec;
import picocli.CommandLine;

import java.lang.reflect.Field;
import java.lang.reflect.Method;
import java.lang.reflect.Modifier;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.Collection;
import java.util.HashMap;
import java.util.HashSet;
import java.util.IdentityHashMap;
import java.util.List;
import java.util.Map;
import java.util.Set;
import java.util.TreeMap;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertNotNull;
import static org.junit.jupiter.api.Assertions.assertTrue;
import static org.junit.jupiter.api.Assertions.fail;

/**
 * ops/k8s as the operators would read it, without a Kubernetes cluster: every Strimzi resource through Strimzi's own
 * model classes (io.strimzi:api 0.49.0) and every Kubernetes resource through fabric8's, failing on any field the
 * model does not know (those models keep unknown fields aside instead of failing, so the test looks there); the
 * FlinkDeployment against the fields the Flink Kubernetes Operator documents for its spec; the topics against the
 * topic catalog; the commands of the pods against saestream's own command line.
 */
class KubernetesManifestsTest {
    private static final Path K8S = Path.of("k8s");
    private static final ObjectMapper YAML = new YAMLMapper();

    /**
     * The FlinkDeployment spec as the operator documents it (docs/content/docs/custom-resource/reference.md of
     * apache/flink-kubernetes-operator, main of July 2026), field names and enum values only.
     */
    private static final Set<String> DEPLOYMENT_SPEC = Set.of("job", "restartNonce", "flinkConfiguration", "image",
            "imagePullPolicy", "serviceAccount", "flinkVersion", "ingress", "podTemplate", "jobManager", "taskManager",
            "logConfiguration", "mode");
    private static final Set<String> JOB_SPEC = Set.of("jarURI", "parallelism", "entryClass", "args", "state",
            "savepointTriggerNonce", "initialSavepointPath", "initialStateReference", "checkpointTriggerNonce",
            "upgradeMode", "allowNonRestoredState", "savepointRedeployNonce", "autoscalerResetNonce");
    private static final Set<String> JOB_MANAGER_SPEC = Set.of("resource", "replicas", "podTemplate");
    private static final Set<String> TASK_MANAGER_SPEC = Set.of("resource", "replicas", "podTemplate");
    private static final Set<String> RESOURCE = Set.of("cpu", "memory", "ephemeralStorage");
    private static final Set<String> FLINK_VERSIONS = Set.of("v1_16", "v1_17", "v1_18", "v1_19", "v1_20", "v2_0",
            "v2_1", "v2_2", "v2_3", "v2_4");
    private static final Set<String> UPGRADE_MODES = Set.of("savepoint", "last-state", "stateless");
    private static final Set<String> JOB_STATES = Set.of("running", "suspended");

    private static final Map<String, Class<?>> MODELS = Map.of(
            "Kafka", Kafka.class, "KafkaNodePool", KafkaNodePool.class, "KafkaTopic", KafkaTopic.class,
            "KafkaUser", KafkaUser.class, "Deployment", Deployment.class, "StatefulSet", StatefulSet.class,
            "Service", Service.class, "ConfigMap", ConfigMap.class, "PersistentVolumeClaim", PersistentVolumeClaim.class);

    @Test
    void everyResourceReadsWithItsOperatorsModelAndNoUnknownField() throws Exception {
        Map<String, Integer> kinds = new TreeMap<>();
        for (Map.Entry<Path, JsonNode> doc : documents()) {
            String kind = doc.getValue().path("kind").asText();
            kinds.merge(kind, 1, Integer::sum);
            if (kind.equals("FlinkDeployment")) {
                continue; // no model on Maven Central at Flink 2.2's operator: checked against its documented spec below
            }
            Class<?> model = MODELS.get(kind);
            assertNotNull(model, doc.getKey() + ": a " + kind + " is not expected in ops/k8s");
            if (kind.startsWith("Kafka")) {
                assertEquals("kafka.strimzi.io/v1", doc.getValue().path("apiVersion").asText(),
                        doc.getKey() + ": Strimzi 0.49's v1 API");
            }
            Object resource = YAML.treeToValue(doc.getValue(), model);
            List<String> unknown = new ArrayList<>();
            unknownFields(resource, kind, unknown, new IdentityHashMap<>());
            assertTrue(unknown.isEmpty(), doc.getKey() + ": fields the " + model.getSimpleName() + " model does not "
                    + "know: " + unknown);
        }
        assertEquals(Map.of("ConfigMap", 1, "Deployment", 1, "FlinkDeployment", 1, "Kafka", 1, "KafkaNodePool", 1,
                "KafkaTopic", 13, "KafkaUser", 1, "PersistentVolumeClaim", 2, "Service", 1, "StatefulSet", 1), kinds);
    }

    @Test
    void kafkaIsAKraftClusterWithTheCatalogsRecordSizeAndASaslListener() throws Exception {
        Kafka kafka = YAML.treeToValue(only("Kafka"), Kafka.class);
        KafkaNodePool pool = YAML.treeToValue(only("KafkaNodePool"), KafkaNodePool.class);
        assertEquals(kafka.getMetadata().getName(), pool.getMetadata().getLabels().get("strimzi.io/cluster"));
        assertEquals(Set.of(ProcessRoles.CONTROLLER, ProcessRoles.BROKER), new HashSet<>(pool.getSpec().getRoles()));
        assertEquals(3, pool.getSpec().getReplicas());
        Map<String, Object> config = kafka.getSpec().getKafka().getConfig();
        assertTrue(((Number) config.get("message.max.bytes")).longValue() >= TopicCatalog.MAX_RECORD_BYTES);
        assertEquals(2, ((Number) config.get("min.insync.replicas")).intValue());
        GenericKafkaListener scram = kafka.getSpec().getKafka().getListeners().stream()
                .filter(l -> l.getName().equals("scram")).findFirst().orElseThrow();
        assertEquals("scram-sha-512", scram.getAuth().getType());
        KafkaUser user = YAML.treeToValue(only("KafkaUser"), KafkaUser.class);
        assertEquals("scram-sha-512", user.getSpec().getAuthentication().getType());
    }

    @Test
    void topicsCarryTheCatalogsConfigs() throws Exception {
        Map<String, KafkaTopic> topics = new HashMap<>();
        for (Map.Entry<Path, JsonNode> doc : documents()) {
            if (doc.getValue().path("kind").asText().equals("KafkaTopic")) {
                KafkaTopic t = YAML.treeToValue(doc.getValue(), KafkaTopic.class);
                topics.put(t.getMetadata().getName(), t);
            }
        }
        List<TopicSpec<?>> expected = List.of(TopicCatalog.SHARD_LEDGER, TopicCatalog.PRODUCER_METRICS,
                TopicCatalog.SAE_METRICS, TopicCatalog.SAE_SNAPSHOTS, TopicCatalog.SAE_COMPARISONS,
                TopicCatalog.SAE_FEATURES, TopicCatalog.SPECTRUM, TopicCatalog.SAE_EVALS, TopicCatalog.activations("demo"),
                TopicCatalog.gradients("demo"), TopicCatalog.corpusShards("demo"),
                TopicCatalog.deadLetters("activations.demo"), TopicCatalog.deadLetters("gradients.demo"));
        assertEquals(expected.size(), topics.size());
        for (TopicSpec<?> spec : expected) {
            KafkaTopic topic = topics.get(spec.name());
            assertNotNull(topic, "a KafkaTopic for " + spec.name());
            Map<String, String> configs = new TreeMap<>();
            if (topic.getSpec().getConfig() != null) {
                topic.getSpec().getConfig().forEach((k, v) -> configs.put(k, String.valueOf(v)));
            }
            assertEquals(new TreeMap<>(spec.configs()), configs, spec.name());
            assertEquals("saestream", topic.getMetadata().getLabels().get("strimzi.io/cluster"));
            assertEquals(3, topic.getSpec().getReplicas());
        }
    }

    @Test
    void theFlinkDeploymentUsesOnlyDocumentedFieldsAndRunsTheJobJarsMain() throws Exception {
        JsonNode deployment = only("FlinkDeployment");
        assertEquals("flink.apache.org/v1beta1", deployment.path("apiVersion").asText());
        JsonNode spec = deployment.path("spec");
        assertKnown(spec, DEPLOYMENT_SPEC, "spec");
        assertKnown(spec.path("job"), JOB_SPEC, "spec.job");
        assertKnown(spec.path("jobManager"), JOB_MANAGER_SPEC, "spec.jobManager");
        assertKnown(spec.path("taskManager"), TASK_MANAGER_SPEC, "spec.taskManager");
        assertKnown(spec.path("jobManager").path("resource"), RESOURCE, "spec.jobManager.resource");
        assertKnown(spec.path("taskManager").path("resource"), RESOURCE, "spec.taskManager.resource");
        assertTrue(FLINK_VERSIONS.contains(spec.path("flinkVersion").asText()), spec.path("flinkVersion").asText());
        assertEquals("v2_2", spec.path("flinkVersion").asText(), "the Flink saestream is built with");
        assertTrue(UPGRADE_MODES.contains(spec.path("job").path("upgradeMode").asText()));
        assertTrue(JOB_STATES.contains(spec.path("job").path("state").asText()));
        // the pod template is a Kubernetes PodTemplateSpec: fabric8's model reads it without unknown fields
        Object podTemplate = YAML.treeToValue(spec.path("podTemplate"), io.fabric8.kubernetes.api.model.PodTemplateSpec.class);
        List<String> unknown = new ArrayList<>();
        unknownFields(podTemplate, "spec.podTemplate", unknown, new IdentityHashMap<>());
        assertTrue(unknown.isEmpty(), unknown.toString());

        Set<String> flinkKeys = flinkOptionKeys();
        spec.path("flinkConfiguration").fieldNames().forEachRemaining(key ->
                assertTrue(flinkKeys.contains(key), "spec.flinkConfiguration." + key + " is not a Flink option"));
        assertEquals("rocksdb", spec.path("flinkConfiguration").path("state.backend.type").asText());

        JsonNode job = spec.path("job");
        assertEquals(SaeTrainingJob.class.getName(), job.path("entryClass").asText());
        assertNotNull(SaeTrainingJob.class.getMethod("main", String[].class));
        assertEquals("local:///opt/flink/usrlib/" + JobJar.FILE, job.path("jarURI").asText());
        List<String> args = new ArrayList<>();
        job.path("args").forEach(a -> args.add(a.asText()));
        for (String required : List.of("--bootstrap", "--topic", "--experiment", "--config", "--checkpoint-dir")) {
            assertTrue(args.contains(required), "the job's main needs " + required + ": " + args);
        }
        // the experiment file the ConfigMap mounts is one the job reads
        JsonNode configMap = only("ConfigMap");
        var plan = ExperimentFile.parse(configMap.path("data").path("experiment.yaml").asText(), "ConfigMap", K8S);
        assertEquals(job.path("parallelism").asInt(), plan.parallelism(), "one slot per SAE group subtask");
    }

    @Test
    void theSinkAndProducerPodsRunValidSaestreamCommands() throws Exception {
        Deployment sink = YAML.treeToValue(only("Deployment"), Deployment.class);
        List<String> sinkArgs = sink.getSpec().getTemplate().getSpec().getContainers().get(0).getArgs();
        assertEquals("sink", sinkArgs.get(0));
        new CommandLine(new Main()).parseArgs(sinkArgs.toArray(String[]::new)); // fails on any unknown option
        assertFalse(sink.getSpec().getTemplate().getSpec().getVolumes().isEmpty(), "the sink's stores on a volume");

        StatefulSet producers = YAML.treeToValue(only("StatefulSet"), StatefulSet.class);
        var container = producers.getSpec().getTemplate().getSpec().getContainers().get(0);
        List<String> produceArgs = container.getArgs();
        assertEquals("produce", produceArgs.get(0));
        assertTrue(produceArgs.contains("--group"), "the producers share the run's shards");
        new CommandLine(new Main()).parseArgs(produceArgs.toArray(String[]::new));
        assertEquals("1", container.getResources().getLimits().get("nvidia.com/gpu").getAmount(), "one GPU per producer");
    }

    private static void assertKnown(JsonNode node, Set<String> documented, String where) {
        assertTrue(node.isObject(), where + " is an object");
        node.fieldNames().forEachRemaining(f -> assertTrue(documented.contains(f),
                where + "." + f + " is not in the operator's documented spec"));
    }

    /** Every key of Flink's options in the classes a deployment's configuration uses, with their deprecated keys. */
    private static Set<String> flinkOptionKeys() throws IllegalAccessException {
        Set<String> keys = new HashSet<>();
        for (Class<?> options : List.of(CheckpointingOptions.class, StateBackendOptions.class,
                RestartStrategyOptions.class, TaskManagerOptions.class, CoreOptions.class)) {
            for (Field f : options.getFields()) {
                if (Modifier.isStatic(f.getModifiers()) && ConfigOption.class.isAssignableFrom(f.getType())) {
                    ConfigOption<?> option = (ConfigOption<?>) f.get(null);
                    keys.add(option.key());
                    option.fallbackKeys().forEach(k -> keys.add(k.getKey()));
                }
            }
        }
        return keys;
    }

    /**
     * Fields a Strimzi or fabric8 model did not know: they keep them in getAdditionalProperties() rather than
     * failing, so every such map in the object graph must be empty.
     */
    private static void unknownFields(Object o, String path, List<String> out, IdentityHashMap<Object, Boolean> seen) {
        if (o == null || seen.put(o, true) != null) {
            return;
        }
        if (o instanceof Collection<?> c) {
            int i = 0;
            for (Object e : c) {
                unknownFields(e, path + "[" + i++ + "]", out, seen);
            }
            return;
        }
        if (o instanceof Map<?, ?> m) {
            m.forEach((k, v) -> unknownFields(v, path + "." + k, out, seen));
            return;
        }
        String pkg = o.getClass().getPackageName();
        if (!pkg.startsWith("io.strimzi") && !pkg.startsWith("io.fabric8")) {
            return;
        }
        for (Method m : o.getClass().getMethods()) {
            if (m.getParameterCount() != 0 || m.getDeclaringClass() == Object.class || !m.getName().startsWith("get")) {
                continue;
            }
            Object value;
            try {
                value = m.invoke(o);
            } catch (ReflectiveOperationException | RuntimeException e) {
                continue;
            }
            if (m.getName().equals("getAdditionalProperties")) {
                if (value instanceof Map<?, ?> extra && !extra.isEmpty()) {
                    out.add(path + ": " + extra.keySet());
                }
            } else {
                unknownFields(value, path + "." + m.getName().substring(3), out, seen);
            }
        }
    }

    private static JsonNode only(String kind) throws Exception {
        List<JsonNode> found = documents().stream().map(Map.Entry::getValue)
                .filter(d -> d.path("kind").asText().equals(kind)).toList();
        assertEquals(1, found.size(), "one " + kind);
        return found.get(0);
    }

    private static List<Map.Entry<Path, JsonNode>> documents() throws Exception {
        List<Map.Entry<Path, JsonNode>> docs = new ArrayList<>();
        try (var files = Files.list(K8S)) {
            for (Path file : files.filter(f -> f.toString().endsWith(".yaml")).sorted().toList()) {
                try (var values = YAML.readerFor(JsonNode.class).readValues(file.toFile())) {
                    while (values.hasNext()) {
                        JsonNode doc = (JsonNode) values.next();
                        if (doc != null && !doc.isNull() && !doc.isEmpty()) {
                            docs.add(Map.entry(file, doc));
                        }
                    }
                }
            }
        }
        if (docs.isEmpty()) {
            fail("no manifests in " + K8S.toAbsolutePath());
        }
        return docs;
    }
}
