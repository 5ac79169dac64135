package edgeclf.core

/**
 * A small strict JSON reader (RFC 8259), so that the core needs nothing beyond the Kotlin standard library.
 *
 * Objects become [Map] (insertion order kept), arrays [List], strings [String], `true`/`false` [Boolean],
 * `null` null, integers without fraction or exponent [Long] (or [Double] past the Long range), other numbers
 * [Double]. `\uXXXX` escapes, surrogate pairs included, are decoded as JSON (and Python's json) do.
 */
object Json {
    fun parse(text: String): Any? {
        val reader = Reader(text)
        reader.skipWhitespace()
        val value = reader.value()
        reader.skipWhitespace()
        if (reader.pos != text.length) reader.fail("trailing characters")
        return value
    }

    private class Reader(val s: String) {
        var pos = 0

        fun fail(what: String): Nothing = throw IllegalArgumentException("invalid JSON at offset $pos: $what")

        fun skipWhitespace() {
            while (pos < s.length && (s[pos] == ' ' || s[pos] == '\t' || s[pos] == '\n' || s[pos] == '\r')) pos++
        }

        fun value(): Any? {
            if (pos >= s.length) fail("unexpected end")
            return when (val c = s[pos]) {
                '{' -> obj()
                '[' -> array()
                '"' -> string()
                't' -> literal("true", true)
                'f' -> literal("false", false)
                'n' -> literal("null", null)
                else -> if (c == '-' || c in '0'..'9') number() else fail("unexpected character '$c'")
            }
        }

        private fun literal(word: String, result: Any?): Any? {
            if (!s.startsWith(word, pos)) fail("expected $word")
            pos += word.length
            return result
        }

        private fun obj(): Map<String, Any?> {
            val out = LinkedHashMap<String, Any?>()
            pos++
            skipWhitespace()
            if (pos < s.length && s[pos] == '}') {
                pos++
                return out
            }
            while (true) {
                skipWhitespace()
                if (pos >= s.length || s[pos] != '"') fail("expected a string key")
                val key = string()
                skipWhitespace()
                if (pos >= s.length || s[pos] != ':') fail("expected ':'")
                pos++
                skipWhitespace()
                out[key] = value()
                skipWhitespace()
                if (pos >= s.length) fail("unterminated object")
                when (s[pos++]) {
                    ',' -> continue
                    '}' -> return out
                    else -> { pos--; fail("expected ',' or '}'") }
                }
            }
        }

        private fun array(): List<Any?> {
            val out = ArrayList<Any?>()
            pos++
            skipWhitespace()
            if (pos < s.length && s[pos] == ']') {
                pos++
                return out
            }
            while (true) {
                skipWhitespace()
                out.add(value())
                skipWhitespace()
                if (pos >= s.length) fail("unterminated array")
                when (s[pos++]) {
                    ',' -> continue
                    ']' -> return out
                    else -> { pos--; fail("expected ',' or ']'") }
                }
            }
        }

        private fun string(): String {
            pos++ // opening quote
            val sb = StringBuilder()
            while (true) {
                if (pos >= s.length) fail("unterminated string")
                val c = s[pos++]
                when {
                    c == '"' -> return sb.toString()
                    c == '\\' -> {
                        if (pos >= s.length) fail("unterminated escape")
                        when (val e = s[pos++]) {
                            '"' -> sb.append('"')
                            '\\' -> sb.append('\\')
                            '/' -> sb.append('/')
                            'b' -> sb.append('\b')
                            'f' -> sb.append('\u000C')
                            'n' -> sb.append('\n')
                            'r' -> sb.append('\r')
                            't' -> sb.append('\t')
                            'u' -> {
                                if (pos + 4 > s.length) fail("short \\u escape")
                                val code = s.substring(pos, pos + 4).toIntOrNull(16) ?: fail("bad \\u escape")
                                sb.append(code.toChar())
                                pos += 4
                            }
                            else -> fail("bad escape '\\$e'")
                        }
                    }
                    c < ' ' -> fail("control character in string")
                    else -> sb.append(c)
                }
            }
        }

        private fun number(): Any {
            val start = pos
            if (s[pos] == '-') pos++
            var integral = true
            while (pos < s.length) {
                val c = s[pos]
                if (c in '0'..'9') {
                    pos++
                } else if (c == '.' || c == 'e' || c == 'E' || c == '+' || c == '-') {
                    integral = false
                    pos++
                } else {
                    break
                }
            }
            val text = s.substring(start, pos)
            if (integral) text.toLongOrNull()?.let { return it }
            return text.toDoubleOrNull() ?: fail("bad number '$text'")
        }
    }
}

internal fun Any?.asMap(what: String): Map<String, Any?> {
    if (this !is Map<*, *>) throw IllegalArgumentException("$what: expected a JSON object")
    @Suppress("UNCHECKED_CAST")
    return this as Map<String, Any?>
}

internal fun Any?.asList(what: String): List<Any?> = this as? List<Any?> ?: throw IllegalArgumentException("$what: expected a JSON array")

internal fun Any?.asInt(what: String): Int = when (this) {
    is Long -> Math.toIntExact(this)
    is Double -> if (this == Math.floor(this)) this.toInt() else throw IllegalArgumentException("$what: expected an integer")
    else -> throw IllegalArgumentException("$what: expected an integer, got $this")
}

internal fun Any?.asDouble(what: String): Double = (this as? Number)?.toDouble()
    ?: throw IllegalArgumentException("$what: expected a number, got $this")
