package io.github.redismasterdiscovery;

import java.util.LinkedHashMap;
import java.util.Map;
import java.util.regex.Pattern;

/** Kubernetes equality label selectors ({@code key=value[,key=value]}), checked the way the API server checks them. */
final class Selectors {

  static final Pattern LABEL_NAME = Pattern.compile("([A-Za-z0-9]([-A-Za-z0-9_.]{0,61}[A-Za-z0-9])?)");
  static final Pattern LABEL_PREFIX = Pattern.compile("[a-z0-9]([-a-z0-9]*[a-z0-9])?(\\.[a-z0-9]([-a-z0-9]*[a-z0-9])?)*");
  static final Pattern LABEL_VALUE = Pattern.compile("(([A-Za-z0-9]([-A-Za-z0-9_.]{0,61}[A-Za-z0-9])?)?)");

  private Selectors() {}

  /** Parses {@code selector}; an error names {@code field}, the part at fault and the fix. */
  static Map<String, String> parse(String selector, String field) {
    if (selector == null || selector.isBlank()) {
      throw new IllegalArgumentException(field + " selector is empty: use a preset such as LabelPreset.BITNAMI, or key=value like \"isMaster=true\"");
    }
    Map<String, String> out = new LinkedHashMap<>();
    for (String part : selector.split(",")) {
      String p = part.trim();
      int eq = p.indexOf('=');
      if (eq <= 0 || p.startsWith("!") || p.contains("!=") || p.indexOf('=', eq + 1) >= 0 && !p.startsWith("==", eq)) {
        throw new IllegalArgumentException(field + " '" + selector + "': '" + p + "' is not key=value (only equality selectors are supported)");
      }
      String key = p.substring(0, eq).trim();
      String value = p.substring(p.startsWith("==", eq) ? eq + 2 : eq + 1).trim();
      if (!validLabelKey(key)) {
        throw new IllegalArgumentException(field + " '" + selector + "': '" + key + "' is not a valid label key ([prefix/]name, name up to 63 characters)");
      }
      if (value.isEmpty() || !LABEL_VALUE.matcher(value).matches() || value.length() > 63) {
        throw new IllegalArgumentException(field + " '" + selector + "': '" + value + "' is not a valid label value for " + key);
      }
      out.put(key, value);
    }
    return out;
  }

  static boolean validLabelKey(String key) {
    int slash = key.indexOf('/');
    String name = slash < 0 ? key : key.substring(slash + 1);
    if (slash >= 0) {
      String prefix = key.substring(0, slash);
      if (prefix.isEmpty() || prefix.length() > 253 || !LABEL_PREFIX.matcher(prefix).matches()) {
        return false;
      }
    }
    return !name.isEmpty() && name.length() <= 63 && LABEL_NAME.matcher(name).matches();
  }
}
