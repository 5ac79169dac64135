// edgeclf Android demo: a single-activity app (:app) that classifies text with an edgeclf bundle through
// LiteRT's Interpreter, and the Android-free Kotlin core (:edgeclf-core) that tokenizes, pads and scores.
pluginManagement {
    repositories {
        google()
        mavenCentral()
        gradlePluginPortal()
    }
}

dependencyResolutionManagement {
    repositoriesMode.set(RepositoriesMode.FAIL_ON_PROJECT_REPOS)
    repositories {
        google()
        mavenCentral()
    }
}

rootProject.name = "edgeclf-android-demo"
include(":app", ":edgeclf-core")
