// The Android-free core: tokenizers (TextVectorization, legacy Keras Tokenizer), input rules, score heads,
// bundle manifest reading. Plain Kotlin/JVM, no dependencies beyond the standard library.
plugins {
    id("org.jetbrains.kotlin.jvm")
}

kotlin {
    jvmToolchain(17)
}

dependencies {
    testImplementation(platform("org.junit:junit-bom:5.11.3"))
    testImplementation("org.junit.jupiter:junit-jupiter")
    testRuntimeOnly("org.junit.platform:junit-platform-launcher")
}

tasks.test {
    useJUnitPlatform()
    // Golden vectors from `python android_demo/tools/make_android_goldens.py DIR` (the repository's Python side):
    // ./gradlew :edgeclf-core:test -PedgeclfGoldens=DIR   (without it the golden tests are skipped)
    providers.gradleProperty("edgeclfGoldens").orNull?.let { systemProperty("edgeclf.goldens", it) }
}
