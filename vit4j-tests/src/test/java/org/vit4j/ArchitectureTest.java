package org.vit4j;

import static com.tngtech.archunit.base.DescribedPredicate.describe;
import static com.tngtech.archunit.base.DescribedPredicate.not;
import static com.tngtech.archunit.lang.syntax.ArchRuleDefinition.noClasses;
import static com.tngtech.archunit.library.dependencies.SlicesRuleDefinition.slices;

import com.tngtech.archunit.base.DescribedPredicate;
import com.tngtech.archunit.core.domain.JavaClass;
import com.tngtech.archunit.core.importer.ImportOption;
import com.tngtech.archunit.core.importer.Location;
import com.tngtech.archunit.junit.AnalyzeClasses;
import com.tngtech.archunit.junit.ArchTest;
import com.tngtech.archunit.lang.ArchRule;

/**
 * The package graph of the main classes of every module (tests may reach anywhere): no cycle, and the
 * layers run one way, cli -> io -> model -> backend interface ({@code org.vit4j.backend}) -> backends
 * ({@code org.vit4j.backend.cpu}, {@code .opencl}, {@code .cuda}, found by {@link java.util.ServiceLoader})
 * -> kernels. io is two packages: {@code io.checkpoint} (safetensors, configs, weight names) reads
 * the model and may use {@code io.image} (preprocessing settings, the resampling filters), never the
 * reverse. {@code bench} (profiling, peaks, random weights, charts) sits above the backend interface
 * and below the CLI; {@code digits} (the embedded model) is above io and known only to the CLI;
 * {@code memory} (the device-memory pool) and the root package ({@link HostTensor},
 * {@link Vit4jException}, element types) are below everything and depend on no other vit4j package.
 * The Maven modules follow these packages (vit4j-core holds the root, backend, backend.cpu, memory,
 * model and io), so a rule here is also a rule on what each module may depend on.
 */
@AnalyzeClasses(packages = "org.vit4j", importOptions = ArchitectureTest.MainClassesOnly.class)
class ArchitectureTest {
    /**
     * Main classes only, from whichever module (target/classes or its jar): ArchUnit's own
     * DoNotIncludeTests knows only one module's target/test-classes, and vit4j-core's test jar is on
     * this class path too.
     */
    public static final class MainClassesOnly implements ImportOption {
        @Override
        public boolean includes(Location location) {
            return !location.contains("/test-classes/") && !location.matches(java.util.regex.Pattern.compile(".*-tests\\.jar.*"));
        }
    }

    private static final String ROOT = "org.vit4j";
    private static final String BACKEND_API = "org.vit4j.backend";
    private static final String MODEL = "org.vit4j.model..";
    private static final String IO = "org.vit4j.io..";
    private static final String CHECKPOINT = "org.vit4j.io.checkpoint..";
    private static final String IMAGE = "org.vit4j.io.image..";
    private static final String DIGITS = "org.vit4j.digits..";
    private static final String CLI = "org.vit4j.cli..";
    private static final String BENCH = "org.vit4j.bench..";
    private static final String MEMORY = "org.vit4j.memory..";

    /** A class of a backend implementation: any package below org.vit4j.backend (cpu, opencl, cuda, a new one). */
    private static final DescribedPredicate<JavaClass> A_BACKEND = describe(
            "are in a backend implementation (a package below " + BACKEND_API + ")",
            c -> c.getPackageName().startsWith(BACKEND_API + "."));

    private static final DescribedPredicate<JavaClass> BELOW_THE_ROOT = describe(
            "are in a package below " + ROOT, c -> c.getPackageName().startsWith(ROOT + "."));

    @ArchTest
    static final ArchRule packagesHaveNoCycle = slices().matching("org.vit4j.(**)").namingSlices("$1")
            .should().beFreeOfCycles();

    @ArchTest
    static final ArchRule theRootPackageDependsOnNoOther = noClasses().that().resideInAPackage(ROOT)
            .should().dependOnClassesThat(BELOW_THE_ROOT)
            .because("HostTensor, Vit4jException and the element types are shared by every layer");

    @ArchTest
    static final ArchRule theModelSeesOnlyTheBackendInterface = noClasses().that().resideInAPackage(MODEL)
            .should().dependOnClassesThat().resideInAnyPackage(IO, CLI, BENCH, DIGITS)
            .orShould().dependOnClassesThat(A_BACKEND)
            .because("the model composes the ops of org.vit4j.backend.Backend; io feeds it from outside");

    @ArchTest
    static final ArchRule theBackendInterfaceNamesNoImplementation = noClasses().that().resideInAPackage(BACKEND_API)
            .should().dependOnClassesThat(A_BACKEND)
            .orShould().dependOnClassesThat().resideInAnyPackage(MODEL, IO, CLI, BENCH, DIGITS)
            .because("backends are found by java.util.ServiceLoader, so a new one is a new module and no edit here");

    @ArchTest
    static final ArchRule backendsDoNotKnowWhatRunsOnThem = noClasses().that(A_BACKEND)
            .should().dependOnClassesThat().resideInAnyPackage(MODEL, IO, CLI, BENCH, DIGITS)
            .because("a backend implements the ops of org.vit4j.backend.Backend and nothing above it");

    @ArchTest
    static final ArchRule backendsAreIndependentOfEachOther = slices().matching("org.vit4j.backend.(*)..")
            .namingSlices("backend $1").should().notDependOnEachOther();

    @ArchTest
    static final ArchRule onlyABackendNamesABackend = noClasses().that(not(A_BACKEND))
            .should().dependOnClassesThat(A_BACKEND)
            .because("everything else opens a backend through org.vit4j.backend.Backends (ServiceLoader) and "
                    + "configures it with BackendOptions");

    @ArchTest
    static final ArchRule ioFeedsTheModelFromOutside = noClasses().that().resideInAPackage(IO)
            .should().dependOnClassesThat().resideInAnyPackage(CLI, BENCH, DIGITS);

    @ArchTest
    static final ArchRule imagePreprocessingReadsNoCheckpoint = noClasses().that().resideInAPackage(IMAGE)
            .should().dependOnClassesThat().resideInAPackage(CHECKPOINT)
            .because("a checkpoint carries its preprocessing settings, not the other way round");

    @ArchTest
    static final ArchRule onlyTheCliKnowsTheDigitsModel = noClasses()
            .that().resideOutsideOfPackages(CLI, DIGITS)
            .should().dependOnClassesThat().resideInAPackage(DIGITS)
            .because("the embedded model is data for the CLI and the tests, not part of the library");

    @ArchTest
    static final ArchRule memoryIsBelowTheBackends = noClasses().that().resideInAPackage(MEMORY)
            .should().dependOnClassesThat().resideInAnyPackage(BACKEND_API + "..", MODEL, IO, CLI, BENCH, DIGITS)
            .because("the pool serves the backends and knows nothing of them");

    @ArchTest
    static final ArchRule benchSitsAboveTheBackendInterface = noClasses()
            .that().resideInAnyPackage(BACKEND_API + "..", MODEL, IO, MEMORY)
            .should().dependOnClassesThat().resideInAPackage(BENCH);

    @ArchTest
    static final ArchRule nothingDependsOnTheCli = noClasses().that().resideOutsideOfPackage(CLI)
            .should().dependOnClassesThat().resideInAPackage(CLI);

    /**
     * Spark and Scala only in vit4j-spark (org.vit4j.spark): the library, the backends and the CLI must run
     * where there is no Spark. vit4j-spark is not on this module's class path, so this checks every other
     * module's main classes; the Maven enforcer rules of vit4j-core and
     * vit4j-cli check their dependency trees.
     */
    @ArchTest
    static final ArchRule onlyTheSparkModuleUsesSpark = noClasses().that().resideOutsideOfPackage("org.vit4j.spark..")
            .should().dependOnClassesThat().resideInAnyPackage("org.apache.spark..", "scala..")
            .because("Spark is vit4j-spark's provided dependency, absent everywhere else");
}
