package org.saestream.jobs;

/** What a block's rows are to the SAE group they are routed to. */
public enum RowSide {
    /** an autoencoder's training rows */
    WHOLE,
    /** a transcoder's input rows, waiting for the same tokens' target rows */
    INPUT,
    /** a transcoder's target rows, waiting for the same tokens' input rows */
    TARGET
}
