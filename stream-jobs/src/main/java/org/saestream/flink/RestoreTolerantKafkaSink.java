package org.saestream.flink;

import org.apache.flink.api.connector.sink2.Committer;
import org.apache.flink.api.connector.sink2.CommitterInitContext;
import org.apache.flink.api.connector.sink2.WriterInitContext;
import org.apache.flink.connector.kafka.sink.KafkaCommittable;
import org.apache.flink.connector.kafka.sink.KafkaSink;
import org.apache.flink.connector.kafka.sink.KafkaWriterState;
import org.apache.flink.connector.kafka.sink.TwoPhaseCommittingStatefulSink;
import org.apache.flink.connector.kafka.sink.internal.KafkaCommitter;
import org.apache.flink.connector.kafka.sink.internal.TransactionFinished;
import org.apache.flink.core.io.SimpleVersionedSerializer;
import org.apache.flink.streaming.api.connector.sink2.CommittableMessage;
import org.apache.flink.streaming.api.connector.sink2.SupportsPostCommitTopology;
import org.apache.flink.streaming.api.datastream.DataStream;
import org.apache.flink.streaming.api.lineage.LineageVertex;
import org.apache.flink.streaming.api.lineage.LineageVertexProvider;
import org.apache.kafka.clients.admin.Admin;
import org.apache.kafka.clients.admin.AdminClientConfig;
import org.apache.kafka.clients.admin.TransactionDescription;
import org.apache.kafka.clients.admin.TransactionState;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

import java.io.IOException;
import java.util.ArrayList;
import java.util.Collection;
import java.util.HashMap;
import java.util.List;
import java.util.Map;
import java.util.concurrent.TimeUnit;

/**
 * The connector's exactly-once {@link KafkaSink}, whose committer first asks the broker about a transaction
 * recovered from a checkpoint.
 *
 * <p>Why: a restore hands the checkpoint's transaction to the committer again, and it was usually committed
 * already, just before the process died. Brokers with transaction.version 2 (KIP-890, the default of every KRaft
 * cluster formatted by Kafka 4) bump the producer epoch when a transaction ends; the connector resumes the old
 * epoch without initialising the producer, so its commit goes out as an EndTxn v4, is judged by the old rules and
 * answered PRODUCER_FENCED, and the connector logs at ERROR that this "most likely signals data loss", although
 * every record of the transaction is committed (seen in the log segments: the COMMIT marker precedes the kill).
 * So for a recovered transaction the broker is asked first: committed, under the same producer id, with the epoch
 * exactly one above the checkpoint's (the bump of its own commit) means this very transaction is done, and it is
 * reported as already committed. Anything else, an aborted transaction above all, goes to the connector's own
 * committer, which commits it or reports the loss as before.
 */
public final class RestoreTolerantKafkaSink<IN>
        implements TwoPhaseCommittingStatefulSink<IN, KafkaWriterState, KafkaCommittable>,
        SupportsPostCommitTopology<KafkaCommittable>, LineageVertexProvider {
    private static final long serialVersionUID = 1L;
    private final KafkaSink<IN> delegate;
    private final Map<String, Object> adminConfig;

    /** @param clientConfig the sink's Kafka client settings; those an admin client knows are used to ask the broker */
    public RestoreTolerantKafkaSink(KafkaSink<IN> delegate, Map<String, Object> clientConfig) {
        this.delegate = delegate;
        Map<String, Object> admin = new HashMap<>();
        clientConfig.forEach((k, v) -> {
            if (AdminClientConfig.configNames().contains(k)) {
                admin.put(k, v);
            }
        });
        this.adminConfig = admin;
    }

    /** Through the interface: KafkaSink's own writer methods return its package-private writer class. */
    private TwoPhaseCommittingStatefulSink<IN, KafkaWriterState, KafkaCommittable> sink() {
        return delegate;
    }

    @Override
    public PrecommittingStatefulSinkWriter<IN, KafkaWriterState, KafkaCommittable> createWriter(WriterInitContext context)
            throws IOException {
        return sink().createWriter(context);
    }

    @Override
    public PrecommittingStatefulSinkWriter<IN, KafkaWriterState, KafkaCommittable> restoreWriter(
            WriterInitContext context, Collection<KafkaWriterState> recoveredState) throws IOException {
        return sink().restoreWriter(context, recoveredState);
    }

    @Override
    public SimpleVersionedSerializer<KafkaWriterState> getWriterStateSerializer() {
        return delegate.getWriterStateSerializer();
    }

    @Override
    public Committer<KafkaCommittable> createCommitter(CommitterInitContext context) throws IOException {
        return new RecoveryCheckingCommitter(delegate.createCommitter(context), adminConfig);
    }

    @Override
    public SimpleVersionedSerializer<KafkaCommittable> getCommittableSerializer() {
        return delegate.getCommittableSerializer();
    }

    /** The connector co-locates committer and writer here: their backchannel lives in one JVM. */
    @Override
    public void addPostCommitTopology(DataStream<CommittableMessage<KafkaCommittable>> committables) {
        delegate.addPostCommitTopology(committables);
    }

    @Override
    public LineageVertex getLineageVertex() {
        return delegate.getLineageVertex();
    }

    /** Settles recovered transactions the broker shows committed; hands everything else to the connector's committer. */
    static final class RecoveryCheckingCommitter implements Committer<KafkaCommittable> {
        private static final Logger LOG = LoggerFactory.getLogger(RestoreTolerantKafkaSink.class);
        /** How long the broker may take to describe a transaction before the connector's committer takes over. */
        private static final long DESCRIBE_TIMEOUT_SECONDS = 30;
        private final Committer<KafkaCommittable> delegate;
        private final Map<String, Object> adminConfig;
        private Admin admin;

        RecoveryCheckingCommitter(Committer<KafkaCommittable> delegate, Map<String, Object> adminConfig) {
            this.delegate = delegate;
            this.adminConfig = adminConfig;
        }

        @Override
        public void commit(Collection<CommitRequest<KafkaCommittable>> requests) throws IOException, InterruptedException {
            List<CommitRequest<KafkaCommittable>> rest = new ArrayList<>(requests.size());
            for (CommitRequest<KafkaCommittable> request : requests) {
                KafkaCommittable c = request.getCommittable();
                // only a committable recovered from a checkpoint comes without the writer's producer
                if (c.getProducer().isEmpty() && committedBeforeTheRestore(c)) {
                    request.signalAlreadyCommitted();
                    if (delegate instanceof KafkaCommitter connector) { // the writer's producer pool may forget the id
                        connector.getBackchannel().send(TransactionFinished.successful(c.getTransactionalId()));
                    }
                } else {
                    rest.add(request);
                }
            }
            if (!rest.isEmpty()) {
                delegate.commit(rest);
            }
        }

        boolean committedBeforeTheRestore(KafkaCommittable c) {
            String id = c.getTransactionalId();
            try {
                TransactionDescription d = admin().describeTransactions(List.of(id)).description(id)
                        .get(DESCRIBE_TIMEOUT_SECONDS, TimeUnit.SECONDS);
                boolean committed = d.state() == TransactionState.COMPLETE_COMMIT
                        && d.producerId() == c.getProducerId() && d.producerEpoch() == c.getEpoch() + 1;
                if (committed) {
                    LOG.info("transaction {} of the restored checkpoint was committed before the restart (broker: {}, "
                            + "producer {} epoch {}); nothing to commit", id, d.state(), d.producerId(), d.producerEpoch());
                }
                return committed;
            } catch (InterruptedException e) {
                Thread.currentThread().interrupt();
                return false;
            } catch (Exception e) {
                LOG.info("cannot describe transaction {} of the restored checkpoint ({}); committing it as usual", id,
                        e.toString());
                return false;
            }
        }

        private Admin admin() {
            if (admin == null) {
                admin = Admin.create(adminConfig);
            }
            return admin;
        }

        @Override
        public void close() throws Exception {
            try {
                if (admin != null) {
                    admin.close();
                }
            } finally {
                delegate.close();
            }
        }
    }
}
