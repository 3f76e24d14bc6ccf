package org.saestream.sae;

import ai.djl.ndarray.NDArray;
import ai.djl.ndarray.NDList;
import ai.djl.ndarray.types.DataType;
import ai.djl.ndarray.types.Shape;
import org.saestream.files.SaeLensLayout;

import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.Optional;

/**
 * The training pass {@link TopK} and {@link BatchTopK} share once they have chosen which (token,
 * latent) pairs are kept: reconstruction through the kept latents plus the AuxK loss for dead latents
 * of Gao et al. 2024 ("Scaling and evaluating sparse autoencoders", section 2.4 and appendix A.2).
 *
 * <pre>
 *   f      = pre * active                           active: kept and pre > 0 (relu of the kept values)
 *   x_hat  = f W_dec + b_dec,   e = x - x_hat
 *   mse    = mean_b ||e||^2
 *   z      = relu of the kAux' largest pre-activations among dead latents, per token (kAux' = min(kAux, #dead))
 *   e_hat  = z W_dec                                (no bias: it predicts the residual)
 *   L_aux  = ||e - e_hat||^2 / ||e - mean_b e||^2   (sums over batch and dimensions)
 *   loss   = mse + alpha * (||x - mean_b x||^2 / B) * L_aux
 * </pre>
 *
 * A transcoder scores x_hat (plus x W_skip^T for a skip transcoder) against its target y in place of x, in e and
 * in the normaliser alike.
 *
 * <p>L_aux is the paper's normalised MSE of the residual (OpenAI's reference normalises by the residual's
 * batch variance the same way, and sets it to 0 when that variance is 0). The paper adds alpha * L_aux
 * to the normalised MSE ||e||^2 / ||x - mean x||^2; the loss here is that sum times ||x - mean x||^2 / B,
 * so that its first term stays the mse every architecture reports and the two terms keep the paper's
 * relative weight. Both normalisers and e are constants for the gradient, and the auxiliary term reaches
 * only the dead latents' encoder columns, encoder biases and decoder rows (not b_dec).
 *
 * <p>Two ways to the same numbers ({@link Decoding}): with the latents as dense [B, dSae] matrices, or with
 * only the kept (token, latent) pairs. The AuxK term always works on its pairs: it costs B·kAux·dIn for
 * the reconstruction and B·#dead·dIn for the gradient, never more than a dense decoder product.
 */
final class KSparseTraining {

    private KSparseTraining() {
    }

    /**
     * How the kept latents are multiplied with the decoder. Dense: the [B, dSae] latents and their
     * gradient as full matrices, three B·dSae·dIn matmuls besides the encoder's. Sparse: the kept pairs
     * only (COO products and row gathers, about B·k·dIn each); all that stays dense is the encoder.
     */
    enum Decoding {
        DENSE, SPARSE;

        /**
         * Sparse where the latents kept per token are at most 1/32 of the dictionary. Measured at B 4096,
         * d_in 512, n 4096, k 32 (n/k = 128): the sparse products took 134 ms against 310 ms for the
         * dense backward matmuls. The gathers are memory-bound; a bandwidth estimate (not measured) puts the
         * break-even near n/k = 50, and 32 leaves room below it.
         */
        static Decoding forShape(int keptPerToken, long dSae) {
            return (long) keptPerToken * 32 <= dSae ? SPARSE : DENSE;
        }
    }

    /**
     * One batch: the input x [B, dIn], what the reconstruction is scored against (x for an autoencoder, a
     * transcoder's other hook [B, dOut]) and the encoder's pre-activations of x.
     */
    record Batch(NDArray x, NDArray target, Encoder.Pre enc) {
    }

    /**
     * The pass with dense latents.
     *
     * @param active        [B, dSae] 1 where a latent is kept for a token and its pre-activation is positive
     * @param kAux          number of dead latents per token the AuxK reconstruction uses (0 = no AuxK)
     * @param auxCoefficient alpha
     * @param bufferUpdates passed through to the result
     */
    static SaeArchitecture.TrainingPass pass(SaeParameters p, Batch batch, NDArray active, int kAux,
                                             double auxCoefficient, SaeArchitecture.TrainingContext context,
                                             Map<String, NDArray> bufferUpdates) {
        Encoder.Pre enc = batch.enc();
        NDArray latents = enc.pre().mul(active);                              // [B, dSae]
        Reconstruction r = Reconstruction.of(batch.target(), Encoder.reconstruct(p, latents, batch.x()));
        NDArray dWdec = latents.transpose().matMul(r.dXhat());                // [dSae, B] x [B, dOut] = [dSae, dOut]
        NDArray dPre = r.dXhat().matMul(p.wDec().transpose()).muli(active);  // [B, dOut] x [dOut, dSae] = [B, dSae]
        NDArray dBenc = dPre.sum(new int[]{0});                               // [dSae]
        NDArray dBdec = r.dBdec(p, dBenc);                                    // before AuxK: it does not reach b_dec

        Optional<AuxK> aux = AuxK.of(p, batch.target(), enc.pre(), r, kAux, auxCoefficient, context);
        if (aux.isPresent()) {
            dWdec.addi(aux.get().dWdec());
            dPre.addi(aux.get().dPre().coo().toDense());
            dBenc.addi(aux.get().dPre().columnSums());
        }
        NDArray dWenc = enc.centred().transpose().matMul(dPre);               // [dIn, B] x [B, dSae] = [dIn, dSae]
        return new SaeArchitecture.TrainingPass(new SaeArchitecture.Forward(latents, r.xHat()), r.mse(),
                auxLoss(r, aux), loss(r.mse(), aux), gradients(p, batch, r.dXhat(), dWenc, dBenc, dWdec, dBdec),
                active.sum(new int[]{0}), bufferUpdates);
    }

    /**
     * The pass with only the kept pairs: the same loss and gradients as {@link #pass} with the
     * corresponding mask, up to the order of float additions. The forward's latents are a sparse COO
     * array ({@link SaeArchitecture.Forward#denseLatents()}).
     *
     * @param kept the kept (token, latent) pairs of [B, dSae] with their pre-activations (a pair whose
     *             pre-activation is not positive is kept at 0)
     */
    static SaeArchitecture.TrainingPass sparsePass(SaeParameters p, Batch batch, SparsePairs kept,
                                                   int kAux, double auxCoefficient,
                                                   SaeArchitecture.TrainingContext context,
                                                   Map<String, NDArray> bufferUpdates) {
        Encoder.Pre enc = batch.enc();
        NDArray fires = Encoder.positive(kept.values());                      // [N] 1 where active
        SparsePairs latents = kept.withValues(kept.values().mul(fires));      // [N] f
        Reconstruction r = Reconstruction.of(batch.target(),
                Encoder.withSkip(p, latents.times(p.wDec()).addi(p.bDec()), batch.x()));
        NDArray dWdec = latents.transposeTimes(r.dXhat());                    // [dSae, dOut]
        SparsePairs dPre = kept.withValues(                                   // [N] (dX_hat W_dec^T) at the pairs
                kept.sampledProduct(r.dXhat(), p.wDec()).muli(fires));
        NDArray dBenc = dPre.columnSums();                                    // [dSae]
        NDArray dBdec = r.dBdec(p, dBenc);                                    // before AuxK: it does not reach b_dec

        Optional<AuxK> aux = AuxK.of(p, batch.target(), enc.pre(), r, kAux, auxCoefficient, context);
        if (aux.isPresent()) {
            dWdec.addi(aux.get().dWdec());
            dBenc.addi(aux.get().dPre().columnSums());
            dPre = dPre.concat(aux.get().dPre());
        }
        long dIn = p.dIn();
        // (dPre^T x_c)^T, copied to a contiguous [dIn, dSae] (a 1-D reshape of a transpose copies) for Adam's passes
        NDArray dWenc = dPre.transposeTimes(enc.centred()).transpose()       // [dIn, dSae]
                .reshape(dIn * p.dSae()).reshape(dIn, p.dSae());
        return new SaeArchitecture.TrainingPass(new SaeArchitecture.Forward(latents.coo(), r.xHat()), r.mse(),
                auxLoss(r, aux), loss(r.mse(), aux), gradients(p, batch, r.dXhat(), dWenc, dBenc, dWdec, dBdec),
                kept.withValues(fires).columnSums(), bufferUpdates);
    }

    /**
     * The Matryoshka pass ({@link MatryoshkaBatchTopK}): the kept pairs decoded by nested prefixes of the dictionary,
     * loss = sum over prefixes of their mse + the AuxK term on the full SAE's residual. The widths cut the latents
     * into M groups; a pair of group g is put on row g·B + b of a stacked [M·B, dSae] matrix, so that one COO product
     * gives the M groups' partial reconstructions and their running sums the prefixes' x_hat_m. A latent of group g
     * is in every prefix m ≥ g: its gradient comes through D_g = sum_{m ≥ g} d mse_m / d x_hat_m, which the same
     * stacked pairs gather (dW_dec and the sampled product). With one width this is {@link #sparsePass}.
     *
     * @param widths the prefix sizes, strictly increasing, the last d_sae
     */
    static SaeArchitecture.TrainingPass nestedPass(SaeParameters p, Batch input, SparsePairs kept,
                                                   List<Integer> widths, int kAux, double auxCoefficient,
                                                   SaeArchitecture.TrainingContext context,
                                                   Map<String, NDArray> bufferUpdates) {
        Encoder.Pre enc = input.enc();
        NDArray y = input.target();
        long batch = y.getShape().get(0);
        long dIn = p.dIn();
        long dOut = p.dOut();
        int levels = widths.size();
        NDArray fires = Encoder.positive(kept.values());                      // [N] 1 where active
        NDArray f = kept.values().mul(fires);                                 // [N]
        NDArray group = kept.columns().zerosLike();                           // [N] int64: prefix ends at or below
        for (int end : widths.subList(0, levels - 1)) {
            group.addi(kept.columns().gte(end).toType(DataType.INT64, false));
        }
        SparsePairs stacked = new SparsePairs(kept.rows().add(group.muli(batch)), kept.columns(), f,
                new Shape(levels * batch, p.dSae()));
        // what every prefix adds to its latents' decoding: b_dec, plus a skip transcoder's x W_skip^T
        NDArray offset = p.wSkip().map(w -> input.x().matMul(w.transpose()).addi(p.bDec())).orElse(p.bDec());
        NDArray xHats = stacked.times(p.wDec()).reshape(levels, batch, dOut) // [M, B, dOut] partial reconstructions
                .cumSum(0).addi(offset);                                      // [M, B, dOut] x_hat_m
        NDArray dXhats = xHats.sub(y).muli(2.0 / batch);                      // [M, B, dOut] d mse_m / d x_hat_m
        NDArray total = dXhats.sum(new int[]{0});                             // [B, dOut] D_1
        NDArray dGroups = total.expandDims(0).sub(dXhats.cumSum(0)).addi(dXhats).reshape(levels * batch, dOut);
        NDArray dWdec = stacked.transposeTimes(dGroups);                      // [dSae, dOut]
        SparsePairs dPre = kept.withValues(stacked.sampledProduct(dGroups, p.wDec()).muli(fires));   // [N]
        NDArray dBenc = dPre.columnSums();                                    // [dSae]
        NDArray dBdec = Encoder.decoderBiasGradient(p, total.sum(new int[]{0}), dBenc);   // [dOut], before AuxK
        // mean_b ||x_hat_m - x||^2 = (B / 4) ||dXhat_m||^2
        NDArray prefixMse = dXhats.square().sum(new int[]{1, 2}).muli(batch / 4.0);   // [M]

        Reconstruction r = Reconstruction.of(y, xHats.get(levels - 1));
        Optional<AuxK> aux = AuxK.of(p, y, enc.pre(), r, kAux, auxCoefficient, context);
        if (aux.isPresent()) {
            dWdec.addi(aux.get().dWdec());
            dBenc.addi(aux.get().dPre().columnSums());
            dPre = dPre.concat(aux.get().dPre());
        }
        NDArray dWenc = dPre.transposeTimes(enc.centred()).transpose()       // [dIn, dSae], contiguous as in sparsePass
                .reshape(dIn * p.dSae()).reshape(dIn, p.dSae());
        return new SaeArchitecture.TrainingPass(new SaeArchitecture.Forward(kept.withValues(f).coo(), r.xHat()),
                r.mse(), auxLoss(r, aux), loss(prefixMse.sum(), aux),
                gradients(p, input, total, dWenc, dBenc, dWdec, dBdec), kept.withValues(fires).columnSums(),
                bufferUpdates, prefixMse);
    }

    /**
     * x_hat and what the loss's reconstruction term gives from it.
     *
     * @param err   [B, dOut] x_hat - y (y the target: x for an autoencoder)
     * @param mse   [] mean_b ||e||^2
     * @param dXhat [B, dOut] d mse / d x_hat
     */
    private record Reconstruction(NDArray xHat, NDArray err, NDArray mse, NDArray dXhat) {
        static Reconstruction of(NDArray target, NDArray xHat) {
            double invB = 1.0 / target.getShape().get(0);
            NDArray err = xHat.sub(target);                                   // [B, dOut]
            return new Reconstruction(xHat, err, err.square().sum().muli(invB), err.mul(2.0 * invB));
        }

        /** d mse / d b_dec: via x_hat, minus (for an autoencoder) via x_c = x - b_dec. */
        NDArray dBdec(SaeParameters p, NDArray dBenc) {
            return Encoder.decoderBiasGradient(p, dXhat.sum(new int[]{0}), dBenc);   // [dOut]
        }
    }

    /**
     * The AuxK term of a batch, on the pairs of each token's kAux' best dead latents.
     *
     * @param lAux    [] L_aux as reported
     * @param weighted [] the term as added to the loss
     * @param dWdec   [dSae, dIn] its gradient for W_dec
     * @param dPre    its gradient for the pre-activations, at its pairs
     */
    private record AuxK(NDArray lAux, NDArray weighted, NDArray dWdec, SparsePairs dPre) {

        /** {@code x} is the target: the normaliser is its batch variance. */
        static Optional<AuxK> of(SaeParameters p, NDArray x, NDArray pre, Reconstruction r, int kAux,
                                 double auxCoefficient, SaeArchitecture.TrainingContext context) {
            int kEff = Math.min(kAux, context.deadCount());
            if (!(auxCoefficient > 0 && kEff > 0)) {
                return Optional.empty();
            }
            NDArray residual = r.err().neg();                                 // [B, dIn]  e = x - x_hat
            double residualVariance = scalar(residual.sub(residual.mean(new int[]{0})).square().sum());
            if (!(residualVariance > 0)) {
                return Optional.empty();
            }
            long batch = x.getShape().get(0);
            NDArray deadColumns = x.getManager().create(deadIndices(context));        // [D] int64
            long dead = deadColumns.size();
            NDArray deadPre = pre.gather(deadColumns.expandDims(0).broadcast(batch, dead), 1);   // [B, D]
            NDList top = deadPre.topK(kEff, 1, true, false);                  // [B, kEff] values, indices into D
            NDArray positive = Encoder.positive(top.get(0));                  // [B, kEff]
            SparsePairs z = SparsePairs.perRow(deadColumns.take(top.get(1)), top.get(0).mul(positive), p.dSae());
            NDArray auxErr = z.times(p.wDec()).subi(residual);                // [B, dIn]  e_hat - e
            NDArray auxSse = auxErr.square().sum();                           // []
            double inputVariance = scalar(x.sub(x.mean(new int[]{0})).square().sum());
            double c = auxCoefficient * inputVariance / batch / residualVariance;
            NDArray dAux = auxErr.mul(2.0 * c);                               // [B, dIn]  d(c * sse_aux)/d e_hat
            NDArray deadDecoder = p.wDec().get(deadColumns);                  // [D, dIn]
            NDArray dDead = dAux.matMul(deadDecoder.transpose())              // [B, dIn] x [dIn, D] = [B, D]
                    .gather(top.get(1), 1).muli(positive);                    // [B, kEff]
            return Optional.of(new AuxK(auxSse.mul(1.0 / residualVariance), auxSse.mul(c),
                    z.transposeTimes(dAux), z.withValues(dDead.reshape(dDead.size()))));
        }
    }

    /** The total loss: the reconstruction term (the mse, or the prefixes' mses summed) plus the weighted AuxK term. */
    private static NDArray loss(NDArray reconstructionLoss, Optional<AuxK> aux) {
        NDArray loss = reconstructionLoss.duplicate();                        // []
        aux.ifPresent(a -> loss.addi(a.weighted()));
        return loss;
    }

    /** L_aux as reported (0 without an AuxK term). */
    private static NDArray auxLoss(Reconstruction r, Optional<AuxK> aux) {
        return aux.map(AuxK::lAux).orElseGet(() -> r.mse().zerosLike());
    }

    /** The four gradients, and W_skip's from d mse / d x_hat (AuxK's reconstruction has no skip term). */
    private static Map<String, NDArray> gradients(SaeParameters p, Batch batch, NDArray dXhat, NDArray dWenc,
                                                  NDArray dBenc, NDArray dWdec, NDArray dBdec) {
        Map<String, NDArray> grads = new LinkedHashMap<>();
        grads.put(SaeLensLayout.W_ENC, dWenc);
        grads.put(SaeLensLayout.B_ENC, dBenc);
        grads.put(SaeLensLayout.W_DEC, dWdec);
        grads.put(SaeLensLayout.B_DEC, dBdec);
        return Encoder.withSkipGradient(p, grads, batch.x(), dXhat);
    }

    /** The indices of the dead latents, ascending. */
    private static long[] deadIndices(SaeArchitecture.TrainingContext context) {
        boolean[] dead = context.dead();
        long[] out = new long[context.deadCount()];
        int next = 0;
        for (int i = 0; i < dead.length; i++) {
            if (dead[i]) {
                out[next++] = i;
            }
        }
        return out;
    }

    private static double scalar(NDArray a) {
        return a.toType(DataType.FLOAT64, false).getDouble();
    }
}
