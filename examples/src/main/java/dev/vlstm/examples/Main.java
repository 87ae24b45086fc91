package dev.vlstm.examples;

/**
 * Entry point of {@code examples.jar}. Until the MNIST trainer lands it prints its usage.
 */
public final class Main {
    private Main() {
    }

    /**
     * Prints the usage and exits normally.
     *
     * @param args ignored for now
     */
    public static void main(String[] args) {
        System.out.println("vlstm examples");
        System.out.println("usage: java --add-modules jdk.incubator.vector -jar examples/target/examples.jar [train]");
        System.out.println("The MNIST trainer is not built yet; see README.md.");
    }
}
