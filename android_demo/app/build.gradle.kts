// The demo app: one activity, LiteRT's Interpreter (com.google.ai.edge.litert:litert 1.4.1, the Interpreter API
// in package org.tensorflow.lite), the bundle in assets/ (copied in by copyEdgeclfBundle before every build).
plugins {
    id("com.android.application")
    id("org.jetbrains.kotlin.android")
}

android {
    namespace = "edgeclf.demo"
    compileSdk = 35

    defaultConfig {
        applicationId = "edgeclf.demo"
        minSdk = 24
        targetSdk = 35
        versionCode = 1
        versionName = "0.1.0"
    }

    buildTypes {
        release {
            isMinifyEnabled = false
        }
    }
    compileOptions {
        sourceCompatibility = JavaVersion.VERSION_17
        targetCompatibility = JavaVersion.VERSION_17
    }
    androidResources {
        noCompress += "tflite"
    }
    sourceSets["main"].assets.srcDir(layout.buildDirectory.dir("generated/edgeclf-assets"))
}

kotlin {
    jvmToolchain(17)
}

dependencies {
    implementation(project(":edgeclf-core"))
    implementation("com.google.ai.edge.litert:litert:1.4.1")
}

// Copies an edgeclf bundle (manifest.json, vocabulary, model.tflite; not the numpy backend's network files or
// the report) into the generated assets folder. The bundle comes from -PedgeclfBundle=DIR or gradle.properties.
val edgeclfBundle: Provider<String> = providers.gradleProperty("edgeclfBundle").orElse("../bundle")
val copyEdgeclfBundle by tasks.registering(Sync::class) {
    description = "Copies the edgeclf bundle named by -PedgeclfBundle into the app's assets"
    val bundle = rootProject.file(edgeclfBundle.get())
    inputs.property("bundle", bundle.absolutePath)
    from(bundle) {
        exclude("network.json", "weights.npz", "report.md", "*.onnx")
    }
    into(layout.buildDirectory.dir("generated/edgeclf-assets"))
    doFirst {
        require(bundle.resolve("manifest.json").isFile) {
            "$bundle is not an edgeclf bundle (no manifest.json): run `edgeclf convert MODEL -o $bundle` " +
                "or pass -PedgeclfBundle=/path/to/bundle"
        }
    }
}
tasks.named("preBuild") { dependsOn(copyEdgeclfBundle) }
