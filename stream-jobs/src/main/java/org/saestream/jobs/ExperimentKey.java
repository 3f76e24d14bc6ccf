package org.saestream.jobs;

import org.apache.flink.api.java.functions.KeySelector;

/** Every record of an experiment goes to the one SAE group that trains on it (ensembles will fan out here). */
final class ExperimentKey implements KeySelector<InputRecord, String> {
    private final String experiment;

    ExperimentKey(String experiment) {
        this.experiment = experiment;
    }

    @Override
    public String getKey(InputRecord record) {
        return experiment;
    }
}
