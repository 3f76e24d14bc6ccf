package org.saestream.hessian;

import java.util.ArrayList;
import java.util.List;
import java.util.function.Predicate;
import java.util.regex.Pattern;

/**
 * Parameters by name, as the command line names them: comma-separated globs over the Hugging Face names, {@code *}
 * any run of characters (dots included: {@code gpt_neox.layers.2.mlp.*}), {@code ?} one character.
 */
public final class ParameterGlob {
    private ParameterGlob() {
    }

    /** What the globs accept; null or blank accepts every parameter. */
    public static Predicate<String> of(String spec) {
        if (spec == null || spec.isBlank()) {
            return name -> true;
        }
        List<Pattern> patterns = new ArrayList<>();
        for (String glob : spec.split(",")) {
            StringBuilder regex = new StringBuilder();
            for (char c : glob.trim().toCharArray()) {
                switch (c) {
                    case '*' -> regex.append(".*");
                    case '?' -> regex.append('.');
                    default -> regex.append(Pattern.quote(String.valueOf(c)));
                }
            }
            patterns.add(Pattern.compile(regex.toString()));
        }
        return name -> patterns.stream().anyMatch(p -> p.matcher(name).matches());
    }
}
