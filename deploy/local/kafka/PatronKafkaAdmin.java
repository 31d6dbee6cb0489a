// Minimal admin helper for the local Kafka broker, run by kafka.sh.
//
// Doing these tasks in a single JVM is much faster than starting one
// kafka-topics JVM per topic (about 2 s each).
//
// Usage:
//   PatronKafkaAdmin wait <bootstrap> <timeout-seconds>
//   PatronKafkaAdmin create-topics <bootstrap> <partitions> <replication> <topic>...
//   PatronKafkaAdmin list-topics <bootstrap>
//   PatronKafkaAdmin set-topic-config <bootstrap> <name> <value> <topic>...

import java.util.ArrayList;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.Properties;
import java.util.Set;
import java.util.TreeSet;
import java.util.concurrent.ExecutionException;
import java.util.concurrent.TimeUnit;

import org.apache.kafka.clients.admin.Admin;
import org.apache.kafka.clients.admin.AdminClientConfig;
import org.apache.kafka.clients.admin.AlterConfigOp;
import org.apache.kafka.clients.admin.ConfigEntry;
import org.apache.kafka.clients.admin.CreateTopicsResult;
import org.apache.kafka.clients.admin.NewTopic;
import org.apache.kafka.common.KafkaFuture;
import org.apache.kafka.common.config.ConfigResource;
import org.apache.kafka.common.errors.TopicExistsException;

public final class PatronKafkaAdmin {

    private PatronKafkaAdmin() {
    }

    private static Admin admin(String bootstrap) {
        Properties props = new Properties();
        props.put(AdminClientConfig.BOOTSTRAP_SERVERS_CONFIG, bootstrap);
        props.put(AdminClientConfig.CLIENT_ID_CONFIG, "patron-local-admin");
        props.put(AdminClientConfig.REQUEST_TIMEOUT_MS_CONFIG, "5000");
        props.put(AdminClientConfig.DEFAULT_API_TIMEOUT_MS_CONFIG, "15000");
        props.put(AdminClientConfig.RECONNECT_BACKOFF_MS_CONFIG, "100");
        props.put(AdminClientConfig.RECONNECT_BACKOFF_MAX_MS_CONFIG, "500");
        return Admin.create(props);
    }

    /** Waits until the broker answers metadata requests and reports a controller. */
    private static int waitReady(String bootstrap, long timeoutSeconds) throws InterruptedException {
        long deadline = System.nanoTime() + TimeUnit.SECONDS.toNanos(timeoutSeconds);
        String lastError = "no answer";
        try (Admin admin = admin(bootstrap)) {
            while (System.nanoTime() < deadline) {
                try {
                    var cluster = admin.describeCluster();
                    int nodes = cluster.nodes().get(3, TimeUnit.SECONDS).size();
                    var controller = cluster.controller().get(3, TimeUnit.SECONDS);
                    // A successful listTopics proves the metadata log is served.
                    admin.listTopics().names().get(3, TimeUnit.SECONDS);
                    if (nodes > 0 && controller != null && !controller.isEmpty()) {
                        System.out.println("[kafka] broker ready at " + bootstrap + " (cluster "
                                + cluster.clusterId().get(3, TimeUnit.SECONDS) + ")");
                        return 0;
                    }
                    lastError = "no controller yet";
                } catch (ExecutionException | java.util.concurrent.TimeoutException e) {
                    lastError = String.valueOf(e.getCause() != null ? e.getCause() : e);
                }
                Thread.sleep(250);
            }
        }
        System.err.println("[kafka] broker at " + bootstrap + " not ready after " + timeoutSeconds + " s: " + lastError);
        return 1;
    }

    private static int createTopics(String bootstrap, int partitions, short replication, List<String> names)
            throws InterruptedException {
        List<NewTopic> topics = new ArrayList<>();
        for (String name : names) {
            topics.add(new NewTopic(name, partitions, replication));
        }
        int failures = 0;
        try (Admin admin = admin(bootstrap)) {
            CreateTopicsResult result = admin.createTopics(topics);
            for (Map.Entry<String, KafkaFuture<Void>> entry : new java.util.TreeMap<>(result.values()).entrySet()) {
                try {
                    entry.getValue().get(30, TimeUnit.SECONDS);
                    System.out.println("[kafka]   created " + entry.getKey());
                } catch (ExecutionException e) {
                    if (e.getCause() instanceof TopicExistsException) {
                        System.out.println("[kafka]   exists  " + entry.getKey());
                    } else {
                        failures++;
                        System.err.println("[kafka]   FAILED  " + entry.getKey() + ": " + e.getCause());
                    }
                } catch (java.util.concurrent.TimeoutException e) {
                    failures++;
                    System.err.println("[kafka]   FAILED  " + entry.getKey() + ": timed out");
                }
            }
        }
        return failures == 0 ? 0 : 1;
    }

    /** Sets one config of existing topics (those that have another value keep none of it). */
    private static int setTopicConfig(String bootstrap, String name, String value, List<String> topics)
            throws InterruptedException {
        Map<ConfigResource, java.util.Collection<AlterConfigOp>> changes = new LinkedHashMap<>();
        for (String topic : topics) {
            changes.put(new ConfigResource(ConfigResource.Type.TOPIC, topic),
                    List.of(new AlterConfigOp(new ConfigEntry(name, value), AlterConfigOp.OpType.SET)));
        }
        int failures = 0;
        try (Admin admin = admin(bootstrap)) {
            for (Map.Entry<ConfigResource, KafkaFuture<Void>> entry
                    : admin.incrementalAlterConfigs(changes).values().entrySet()) {
                try {
                    entry.getValue().get(30, TimeUnit.SECONDS);
                } catch (ExecutionException e) {
                    failures++;
                    System.err.println("[kafka]   FAILED  " + entry.getKey().name() + ": " + e.getCause());
                } catch (java.util.concurrent.TimeoutException e) {
                    failures++;
                    System.err.println("[kafka]   FAILED  " + entry.getKey().name() + ": timed out");
                }
            }
        }
        if (failures == 0) {
            System.out.println("[kafka]   " + name + "=" + value + " on " + topics.size() + " topics");
        }
        return failures == 0 ? 0 : 1;
    }

    private static int listTopics(String bootstrap) throws Exception {
        try (Admin admin = admin(bootstrap)) {
            Set<String> names = new TreeSet<>(admin.listTopics().names().get(15, TimeUnit.SECONDS));
            names.forEach(System.out::println);
        }
        return 0;
    }

    public static void main(String[] args) throws Exception {
        if (args.length < 2) {
            System.err.println("usage: PatronKafkaAdmin {wait|create-topics|list-topics|set-topic-config} <bootstrap> ...");
            System.exit(2);
        }
        int rc;
        switch (args[0]) {
            case "wait":
                rc = waitReady(args[1], args.length > 2 ? Long.parseLong(args[2]) : 90);
                break;
            case "create-topics":
                List<String> names = new ArrayList<>();
                for (int i = 4; i < args.length; i++) {
                    names.add(args[i]);
                }
                rc = createTopics(args[1], Integer.parseInt(args[2]), Short.parseShort(args[3]), names);
                break;
            case "list-topics":
                rc = listTopics(args[1]);
                break;
            case "set-topic-config":
                if (args.length < 5) {
                    System.err.println("usage: PatronKafkaAdmin set-topic-config <bootstrap> <name> <value> <topic>...");
                    rc = 2;
                    break;
                }
                rc = setTopicConfig(args[1], args[2], args[3], List.of(args).subList(4, args.length));
                break;
            default:
                System.err.println("unknown command: " + args[0]);
                rc = 2;
        }
        System.exit(rc);
    }
}
