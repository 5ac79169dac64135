// Versions in one place: Android Gradle Plugin 8.7.3 (needs Gradle 8.9+, JDK 17), Kotlin 2.0.21.
plugins {
    id("com.android.application") version "8.7.3" apply false
    id("org.jetbrains.kotlin.android") version "2.0.21" apply false
    id("org.jetbrains.kotlin.jvm") version "2.0.21" apply false
}
