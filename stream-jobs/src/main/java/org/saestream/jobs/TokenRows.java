package org.saestream.jobs;

/**
 * Accepted token activations waiting in the mixing buffer: {@code rows} rows of {@code width} floats
 * and one identity per row (see TokenIdentity). A Flink POJO, so it is stored in RocksDB as list state.
 * Rows fresh from one block carry its {@link BlockOrigin} (for feature examples); rows in the mixing
 * buffer do not (null; also in state written before the field existed).
 */
public class TokenRows {
    public int rows;
    public int width;
    public float[] data;
    public long[] identities;
    public BlockOrigin origin;
    /** which half of a transcoder's pairs the rows are while they wait in its {@link PairingBuffer}; null elsewhere */
    public RowSide side;

    public TokenRows() {
    }

    public TokenRows(int rows, int width, float[] data, long[] identities, BlockOrigin origin) {
        this(rows, width, data, identities);
        if (origin != null && origin.tokenIds != null && origin.tokenIds.length != 0 && origin.tokenIds.length != rows) {
            throw new IllegalArgumentException("TokenRows: " + origin.tokenIds.length + " token ids for " + rows + " rows");
        }
        this.origin = origin;
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

    /** The same rows (shared arrays) without their origin: what the mixing buffer keeps. */
    TokenRows withoutOrigin() {
        return origin == null ? this : new TokenRows(rows, width, data, identities);
    }
}
