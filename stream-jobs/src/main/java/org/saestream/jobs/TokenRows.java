package org.saestream.jobs;

/**
 * Accepted token activations waiting in the mixing buffer: {@code rows} rows of {@code width} floats
 * and one identity per row (see TokenIdentity). A Flink POJO, so it is stored in RocksDB as list state.
 */
public class TokenRows {
    public int rows;
    public int width;
    public float[] data;
    public long[] identities;

    public TokenRows() {
    }

    public TokenRows(int rows, int width, float[] data, long[] identities) {
        if (data.length != rows * width || identities.length != rows) {
            throw new IllegalArgumentException("TokenRows: " + rows + " rows of width " + width + " need "
                    + rows * width + " floats and " + rows + " identities, got " + data.length + " and " + identities.length);
        }
        this.rows = rows;
        this.width = width;
        this.data = data;
        this.identities = identities;
    }
}
