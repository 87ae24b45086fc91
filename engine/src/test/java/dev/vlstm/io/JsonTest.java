package dev.vlstm.io;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import java.util.List;
import java.util.Map;
import org.junit.jupiter.api.Test;

/** {@link Json}, the safetensors header's parser and quoting: values, escapes, and hostile text refused. */
class JsonTest {
    @Test
    void parsesObjectsArraysNumbersLiteralsAndEscapesInOrder() throws FormatException {
        Object v = Json.parse(" {\"b\": [1, -2, 3.5, 1e3, true, false, null], \"a\": {\"s\": \"x\\\"\\\\\\/\\n\\t\\u00e9\"}} ",
                "h.json");
        assertThat(v).isInstanceOf(Map.class);
        @SuppressWarnings("unchecked")
        Map<String, Object> m = (Map<String, Object>) v;
        assertThat(m.keySet()).containsExactly("b", "a");
        @SuppressWarnings("unchecked")
        List<Object> list = (List<Object>) m.get("b");
        assertThat(list).containsExactly(1L, -2L, 3.5, 1000.0, true, false, null);
        assertThat(((Map<?, ?>) m.get("a")).get("s")).isEqualTo("x\"\\/\n\té");
        assertThat(Json.parse("{}", "h")).isEqualTo(Map.of());
        assertThat(Json.parse("[]", "h")).isEqualTo(List.of());
    }

    @Test
    void quoteRoundTripsEveryCharacterClass() throws FormatException {
        String s = "plain \"quoted\" back\\slash\nnew\rret\ttab\u0001ctl é ∑";
        assertThat(Json.parse(Json.quote(s), "h")).isEqualTo(s);
        assertThat(Json.quote("\u0001")).isEqualTo("\"\\u0001\"");
    }

    @Test
    void hostileOrMalformedTextFailsWithTheFileNameAndThePosition() {
        String[][] bad = {
            {"{\"a\":1} x", "unexpected text after"},
            {"{\"a\":1,\"a\":2}", "duplicate key \"a\""},
            {"\"abc", "unterminated string"},
            {"\"a\u0001\"", "control character"},
            {"\"\\q\"", "bad escape \\q"},
            {"\"\\u12\"", "\\u escape"},
            {"{1:2}", "expected a key string"},
            {"[1 2]", "expected ']'"},
            {"tru", "expected true"},
            {"1.2.3e", "bad number"},
            {"", "unexpected end"},
            {"[".repeat(66) + "]".repeat(66), "nested deeper than 64"},
        };
        for (String[] b : bad) {
            assertThatThrownBy(() -> Json.parse(b[0], "model.safetensors")).as(b[0])
                    .isInstanceOf(FormatException.class).hasMessageContaining("model.safetensors")
                    .hasMessageContaining("bad JSON header at character").hasMessageContaining(b[1]);
        }
    }
}
