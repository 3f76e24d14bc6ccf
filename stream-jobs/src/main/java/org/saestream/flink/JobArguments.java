package org.saestream.flink;

import org.apache.flink.util.ParameterTool;
import org.apache.flink.util.TimeUtils;
import org.saestream.topics.KafkaClientConfig;

import java.nio.file.Path;
import java.time.Duration;
import java.util.Optional;
import java.util.Set;
import java.util.TreeSet;

/**
 * The arguments of a job's {@code main}, as {@code flink run -c <main> saestream-job.jar --name value ...} passes
 * them. A missing required argument, or one the job does not know (a typo must not fall back to a default), fails
 * with the job's usage line.
 */
public final class JobArguments {
    /** What ParameterTool stores for a name given without a value (its own constant is protected). */
    private static final String NO_VALUE = "__NO_VALUE_KEY";
    private final ParameterTool params;
    private final String usage;
    private final Set<String> read = new TreeSet<>();

    private JobArguments(ParameterTool params, String usage) {
        this.params = params;
        this.usage = usage;
    }

    public static JobArguments parse(String[] args, String usage) {
        try {
            return new JobArguments(ParameterTool.fromArgs(args), usage);
        } catch (IllegalArgumentException e) {
            throw new IllegalArgumentException(e.getMessage() + "\nusage: " + usage, e);
        }
    }

    public String required(String name) {
        return optional(name).orElseThrow(() -> new IllegalArgumentException("missing --" + name + "\nusage: " + usage));
    }

    public Optional<String> optional(String name) {
        read.add(name);
        String value = params.get(name);
        if (value != null && value.equals(NO_VALUE)) {
            throw new IllegalArgumentException("--" + name + " needs a value\nusage: " + usage);
        }
        return Optional.ofNullable(value);
    }

    public Duration duration(String name, String fallback) {
        String text = optional(name).orElse(fallback);
        try {
            return TimeUtils.parseDuration(text);
        } catch (IllegalArgumentException e) {
            throw new IllegalArgumentException("--" + name + ": not a duration: " + text + " (e.g. 2s, 500ms)", e);
        }
    }

    public int integer(String name, int fallback) {
        String text = optional(name).orElse(String.valueOf(fallback));
        try {
            return Integer.parseInt(text);
        } catch (NumberFormatException e) {
            throw new IllegalArgumentException("--" + name + ": not an integer: " + text, e);
        }
    }

    /** {@code --bootstrap}, with the client settings of {@code --kafka-config FILE} where given. */
    public KafkaClientConfig kafka() {
        String bootstrap = required("bootstrap");
        return optional("kafka-config").map(f -> KafkaClientConfig.withFile(bootstrap, Path.of(f)))
                .orElseGet(() -> KafkaClientConfig.plain(bootstrap));
    }

    /** {@code --checkpoint-dir} (required) and {@code --checkpoint-interval} (default 2s), for a fresh start. */
    public Checkpointing checkpointing() {
        return Checkpointing.fresh(Path.of(required("checkpoint-dir")).toAbsolutePath(),
                duration("checkpoint-interval", "2s"));
    }

    /** Call after reading every argument: fails on any the job did not ask for. */
    public void requireNoOthers() {
        Set<String> unknown = new TreeSet<>(params.toMap().keySet());
        unknown.removeAll(read);
        if (!unknown.isEmpty()) {
            throw new IllegalArgumentException("unknown argument(s): --" + String.join(", --", unknown)
                    + "\nusage: " + usage);
        }
    }
}
