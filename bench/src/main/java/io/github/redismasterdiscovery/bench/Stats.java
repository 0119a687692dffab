package io.github.redismasterdiscovery.bench;

import java.util.ArrayList;
import java.util.Collections;
import java.util.List;

/** Order statistics of a small sample. */
record Stats(int n, double p50, double p90, double max, double min) {

  static Stats of(List<Double> values) {
    if (values.isEmpty()) {
      return new Stats(0, Double.NaN, Double.NaN, Double.NaN, Double.NaN);
    }
    List<Double> sorted = new ArrayList<>(values);
    Collections.sort(sorted);
    return new Stats(sorted.size(), pct(sorted, 50), pct(sorted, 90), sorted.get(sorted.size() - 1), sorted.get(0));
  }

  /** Nearest-rank percentile. */
  static double pct(List<Double> sorted, int p) {
    int i = (int) Math.ceil(p / 100.0 * sorted.size()) - 1;
    return sorted.get(Math.max(0, i));
  }

  String md(String unit) {
    return n == 0 ? "n/a" : String.format("%s / %s / %s%s", fmt(p50), fmt(p90), fmt(max), unit);
  }

  String json() {
    return String.format("{\"n\":%d,\"p50\":%s,\"p90\":%s,\"max\":%s,\"min\":%s}", n, num(p50), num(p90), num(max), num(min));
  }

  static String fmt(double v) {
    return Double.isNaN(v) ? "n/a" : v >= 100 ? String.format("%.0f", v) : String.format("%.1f", v);
  }

  static String num(double v) {
    return Double.isNaN(v) ? "null" : String.format("%.3f", v);
  }
}
