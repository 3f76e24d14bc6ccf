package org.saestream.sae;

/**
 * The whole ReLU + L1 training step written as plain loops in double precision: forward, loss,
 * gradients, decoder-gradient projection, Adam, decoder renormalisation. The engine path is tested
 * against it.
 */
final class ReferenceSae {
    final int dIn;
    final int dSae;
    final SaeConfig config;
    final double[] wEnc; // [dIn, dSae]
    final double[] bEnc; // [dSae]
    final double[] wDec; // [dSae, dIn]
    final double[] bDec; // [dIn]
    private final double[][] params;
    private final double[][] m;
    private final double[][] v;
    long step;

    /** Starts from the parameters of a trainer that has not stepped yet (read from it; prepared or not). */
    ReferenceSae(SaeConfig config, SaeTrainer fresh) {
        this.config = config;
        this.dIn = config.dIn();
        this.dSae = config.dSae();
        wEnc = widen(fresh.encoder());
        bEnc = widen(fresh.encoderBias());
        wDec = widen(fresh.decoder());
        bDec = widen(fresh.decoderBias());
        params = new double[][]{wEnc, bEnc, wDec, bDec};
        m = new double[4][];
        v = new double[4][];
        for (int i = 0; i < 4; i++) {
            m[i] = new double[params[i].length];
            v[i] = new double[params[i].length];
        }
    }

    record Result(double mse, double fvu, double l0, double l1, double loss) {
    }

    Result step(float[] x, int rows) {
        double l1c = ((ReluL1) config.architecture()).l1CoefficientAt(step);
        double[] norms = new double[dSae];
        for (int i = 0; i < dSae; i++) {
            double s = 0;
            for (int j = 0; j < dIn; j++) {
                s += wDec[i * dIn + j] * wDec[i * dIn + j];
            }
            norms[i] = Math.sqrt(s);
        }
        double[] gWEnc = new double[wEnc.length];
        double[] gBEnc = new double[bEnc.length];
        double[] gWDec = new double[wDec.length];
        double[] gBDec = new double[bDec.length];
        double sse = 0;
        double sparsity = 0;
        double active = 0;
        double[] mean = new double[dIn];
        for (int b = 0; b < rows; b++) {
            for (int j = 0; j < dIn; j++) {
                mean[j] += x[b * dIn + j] / (double) rows;
            }
        }
        double variance = 0;
        for (int b = 0; b < rows; b++) {
            double[] xc = new double[dIn];
            for (int j = 0; j < dIn; j++) {
                xc[j] = x[b * dIn + j] - bDec[j];
                variance += (x[b * dIn + j] - mean[j]) * (x[b * dIn + j] - mean[j]);
            }
            double[] f = new double[dSae];
            for (int i = 0; i < dSae; i++) {
                double pre = bEnc[i];
                for (int j = 0; j < dIn; j++) {
                    pre += xc[j] * wEnc[j * dSae + i];
                }
                f[i] = Math.max(pre, 0);
                if (f[i] > 0) {
                    active++;
                }
                sparsity += f[i] * norms[i] / rows;
            }
            double[] dXhat = new double[dIn];
            for (int j = 0; j < dIn; j++) {
                double xHat = bDec[j];
                for (int i = 0; i < dSae; i++) {
                    xHat += f[i] * wDec[i * dIn + j];
                }
                double e = xHat - x[b * dIn + j];
                sse += e * e;
                dXhat[j] = 2 * e / rows;
                gBDec[j] += dXhat[j];
            }
            for (int i = 0; i < dSae; i++) {
                double dF = l1c * norms[i] / rows;
                for (int j = 0; j < dIn; j++) {
                    gWDec[i * dIn + j] += f[i] * dXhat[j] + l1c * f[i] / rows * wDec[i * dIn + j] / norms[i];
                    dF += dXhat[j] * wDec[i * dIn + j];
                }
                double dPre = f[i] > 0 ? dF : 0;
                gBEnc[i] += dPre;
                for (int j = 0; j < dIn; j++) {
                    gWEnc[j * dSae + i] += xc[j] * dPre;
                    gBDec[j] -= wEnc[j * dSae + i] * dPre;
                }
            }
        }
        double mse = sse / rows;
        double loss = mse + l1c * sparsity;

        // remove the gradient parallel to each (unit) decoder row
        for (int i = 0; i < dSae; i++) {
            double dot = 0;
            for (int j = 0; j < dIn; j++) {
                dot += gWDec[i * dIn + j] * wDec[i * dIn + j];
            }
            for (int j = 0; j < dIn; j++) {
                gWDec[i * dIn + j] -= dot * wDec[i * dIn + j];
            }
        }
        // Adam
        step++;
        double[][] grads = {gWEnc, gBEnc, gWDec, gBDec};
        double bc1 = 1 - Math.pow(config.beta1(), step);
        double bc2 = 1 - Math.pow(config.beta2(), step);
        for (int p = 0; p < 4; p++) {
            for (int k = 0; k < params[p].length; k++) {
                double g = grads[p][k];
                m[p][k] = config.beta1() * m[p][k] + (1 - config.beta1()) * g;
                v[p][k] = config.beta2() * v[p][k] + (1 - config.beta2()) * g * g;
                params[p][k] -= config.learningRate() / bc1 * m[p][k]
                        / (Math.sqrt(v[p][k]) / Math.sqrt(bc2) + config.epsilon());
            }
        }
        // unit decoder rows
        for (int i = 0; i < dSae; i++) {
            double s = 0;
            for (int j = 0; j < dIn; j++) {
                s += wDec[i * dIn + j] * wDec[i * dIn + j];
            }
            double inv = 1 / Math.sqrt(s);
            for (int j = 0; j < dIn; j++) {
                wDec[i * dIn + j] *= inv;
            }
        }
        return new Result(mse, sse / variance, active / rows, sparsity, loss);
    }

    private static double[] widen(float[] f) {
        double[] d = new double[f.length];
        for (int i = 0; i < f.length; i++) {
            d[i] = f[i];
        }
        return d;
    }
}
