/**
 * vlstm: a pure-Java LSTM engine on the Vector API.
 *
 * <p>{@code jdk.incubator.vector} is optional: add it ({@code --add-modules jdk.incubator.vector})
 * for the vectorised kernels; without it the engine runs its scalar kernels and logs one warning.
 * Exported: the layers and networks ({@code dev.vlstm}), file formats ({@code dev.vlstm.io}), the
 * classifier's model file ({@code dev.vlstm.modelfile}),
 * optimizers ({@code dev.vlstm.optim}) and the kernel interface with its provider
 * ({@code dev.vlstm.kernel}; the Vector API implementation itself is package-private). Not
 * exported: the engine's machinery, {@code dev.vlstm.internal.*} (the cell, the recurrence and its
 * schedules, the worker pool, the memory budget; see docs/architecture.md).
 */
module dev.vlstm {
    requires static jdk.incubator.vector;

    exports dev.vlstm;
    exports dev.vlstm.io;
    exports dev.vlstm.kernel;
    exports dev.vlstm.modelfile;
    exports dev.vlstm.optim;
}
