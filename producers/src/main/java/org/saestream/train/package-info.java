/**
 * Training a language model while publishing its gradient: {@code saestream train-lm}.
 *
 * <ul>
 *   <li>{@link org.saestream.train.TrainConfig}: the run as typed data (YAML or JSON), validated once.</li>
 *   <li>{@link org.saestream.train.ModelInit}: the starting model (a Hugging Face directory, or a config.json
 *       initialised as transformers does) and the config.json its checkpoints carry.</li>
 *   <li>{@link org.saestream.train.TrainingData}: corpus shards (the producers' readers) to packed or
 *       per-document windows, and each step's batch in a seeded order.</li>
 *   <li>{@link org.saestream.train.LrSchedule} and {@link org.saestream.train.AdamW}: linear warm-up and cosine
 *       decay; AdamW over the parameter NDArrays with its own moments.</li>
 *   <li>{@link org.saestream.train.GradientSketch}: CountSketch, Gaussian or full, seeded and regenerated on
 *       the fly; {@link org.saestream.train.GradientSink} / {@link org.saestream.train.KafkaGradientSink}: one
 *       GradientStep per step to gradients.&lt;run&gt;.</li>
 *   <li>{@link org.saestream.train.Checkpointer}: Hugging Face directories plus trainer_state.json and the
 *       optimizer state for a bit-exact resume.</li>
 *   <li>{@link org.saestream.train.Trainer} runs the loop; {@link org.saestream.train.TrainingRun} wires it
 *       from a config; {@link org.saestream.train.TrainBenchmark} prints tokens/s and the publishing share.</li>
 * </ul>
 */
package org.saestream.train;
