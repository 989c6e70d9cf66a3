// What the emulation test programs share: a seeded generator, host ↔ device copies, float64
// reference sums, comparisons against references, and the one JSON line each program prints for
// tests/kernel-emulation.test.ts:
//   {"program": ..., "cases": [{"name", "pass", "checked", "max_abs", "max_rel", "seconds", "detail"}],
//    "death": [{"name", "expect"}]}
// "death" lists the cases run as `program --death NAME`, each of which must end the process with a
// non-zero status and print `expect` on stderr.
#pragma once
#include "tests/kernel-emulation/cuda_emulator.h"

#include <chrono>
#include <cmath>
#include <cstdint>
#include <cstdio>
#include <cstring>
#include <string>
#include <type_traits>
#include <vector>

namespace emu_test {

// xorshift64*: the same numbers on every platform and standard library.
class Rng {
 public:
  explicit Rng(uint64_t seed) : s_(seed * 0x9E3779B97F4A7C15ull + 1) {}
  uint64_t next() {
    s_ ^= s_ >> 12;
    s_ ^= s_ << 25;
    s_ ^= s_ >> 27;
    return s_ * 0x2545F4914F6CDD1Dull;
  }
  float uniform(float lo, float hi) { return lo + (hi - lo) * static_cast<float>(next() >> 40) * 0x1p-24f; }
  uint32_t below(uint32_t n) { return static_cast<uint32_t>((next() >> 32) % n); }

 private:
  uint64_t s_;
};

// cudaMemcpy's stand-ins: a host vector into the buffer's first elements, the whole buffer out.
template <class T>
void upload(emu::DeviceBuffer<T>& d, const std::vector<T>& h) { std::memcpy(d.data(), h.data(), h.size() * sizeof(T)); }
template <class T>
std::vector<T> download(const emu::DeviceBuffer<T>& d) { return std::vector<T>(d.data(), d.data() + d.size()); }

// "rows×in→out", as the case names give a shape.
inline std::string shape(int rows, int in, int out) {
  return std::to_string(rows) + "×" + std::to_string(in) + "→" + std::to_string(out);
}

// A float64 reference value and its scale: the magnitude the float32 computation's rounding error
// grows with (for a sum, Σ|terms|), as Compare::near takes it.
struct Reference {
  double value = 0, scale = 0;
  void add(double term) { value += term, scale += std::fabs(term); }
};

// start + Σ_i a[i·a_step]·b[i·b_step] in float64, the terms added in index order.
inline Reference dot(const float* a, size_t a_step, const float* b, size_t b_step, int n, Reference start = {}) {
  for (int i = 0; i < n; ++i) start.add(static_cast<double>(a[i * a_step]) * b[i * b_step]);
  return start;
}

// Error statistics of one output against its reference. near(): |got − ref| ≤ tol·scale, where
// scale is the magnitude the rounding error grows with (e.g. Σ|terms| of a sum); max_rel is the
// largest |got − ref| / scale. exact(): identical bits. NaN or ±inf where the reference is finite
// always fails.
struct Compare {
  long checked = 0, bad = 0;
  double max_abs = 0, max_rel = 0;
  std::string first_bad;

  void near(const char* what, size_t i, double got, double ref, double scale, double tol) {
    ++checked;
    const double err = std::fabs(got - ref);
    const double rel = scale > 0 ? err / scale : (err == 0 ? 0 : INFINITY);
    const bool ok = std::isfinite(got) && rel <= tol;
    if (std::isfinite(err)) max_abs = std::fmax(max_abs, err);
    max_rel = std::isfinite(rel) ? std::fmax(max_rel, rel) : INFINITY;
    if (!ok) miss(what, i, got, ref);
  }
  void near(const char* what, size_t i, double got, const Reference& ref, double tol) {
    near(what, i, got, ref.value, ref.scale, tol);
  }
  void exact(const char* what, size_t i, float got, float ref) {
    ++checked;
    if (std::memcmp(&got, &ref, sizeof got) != 0) {
      const double err = std::fabs(static_cast<double>(got) - ref);
      max_abs = std::isfinite(err) ? std::fmax(max_abs, err) : INFINITY;
      max_rel = INFINITY;
      miss(what, i, got, ref);
    }
  }
  // The same float: identical bits, or both NaN (a NaN's sign and payload are not compared: the
  // GPU's computed NaN is 0x7fffffff, x86's 0xffc00000). any_zero: +0 and −0 also count as equal.
  void same(const char* what, size_t i, float got, float ref, bool any_zero = false) {
    if ((std::isnan(got) && std::isnan(ref)) || (any_zero && got == 0.f && ref == 0.f)) {
      ++checked;
      return;
    }
    exact(what, i, got, ref);
  }
  // near(), for results that may be NaN or infinite: where `special` (the formula evaluated in
  // float) is NaN, got must be NaN; where it is ±infinity, that infinity; elsewhere got must be
  // near the float64 reference, with scale at least `floor` (an absolute tolerance for results
  // that underflow).
  void near_or_special(const char* what, size_t i, float got, float special, double ref, double scale, double tol,
                       double floor = 0) {
    if (std::isnan(special)) {
      ++checked;
      if (!std::isnan(got)) miss_special(what, i, got, special);
    } else if (std::isinf(special)) {
      ++checked;
      if (got != special) miss_special(what, i, got, special);
    } else {
      near(what, i, got, ref, std::fmax(scale, floor), tol);
    }
  }
  void exact(const char* what, size_t i, int64_t got, int64_t ref) {
    ++checked;
    if (got != ref) {
      max_abs = std::fmax(max_abs, std::fabs(static_cast<double>(got - ref)));
      max_rel = INFINITY;
      miss(what, i, static_cast<double>(got), static_cast<double>(ref));
    }
  }

 private:
  void miss_special(const char* what, size_t i, double got, double ref) {
    max_abs = max_rel = INFINITY;
    miss(what, i, got, ref);
  }
  void miss(const char* what, size_t i, double got, double ref) {
    if (bad++ == 0) {
      char b[512];
      std::snprintf(b, sizeof b, "%s[%zu] = %.9g, expected %.9g", what, i, got, ref);
      first_bad = b;
    }
  }
};

// A repeated run against the first: every element the same bits.
template <class T>
void same_bits(Compare& c, const std::string& what, const std::vector<T>& first, const std::vector<T>& again) {
  const std::string name = what + " (second run)";
  for (size_t e = 0; e < first.size(); ++e) {
    if constexpr (std::is_floating_point_v<T>)
      c.exact(name.c_str(), e, again[e], first[e]);
    else
      c.exact(name.c_str(), e, int64_t{again[e]}, int64_t{first[e]});
  }
}

// An output the kernel must not write: DeviceBuffer's initial 0xFF bytes (NaN) everywhere.
inline void untouched(Compare& c, const char* what, const std::vector<float>& v) {
  for (size_t e = 0; e < v.size(); ++e) {
    uint32_t bits;
    std::memcpy(&bits, &v[e], sizeof bits);
    c.exact(what, e, int64_t{bits}, int64_t{0xFFFFFFFF});
  }
}

struct Case {
  std::string name;
  bool pass = true;
  long checked = 0;
  double max_abs = 0, max_rel = 0, seconds = 0;
  std::string detail;
};

inline std::string json_string(const std::string& s) {
  std::string o = "\"";
  for (char c : s) {
    if (c == '"' || c == '\\') o += '\\', o += c;
    else if (static_cast<unsigned char>(c) < 0x20) o += ' ';
    else o += c;
  }
  return o + "\"";
}

inline std::string json_number(double v) {
  if (!std::isfinite(v)) return "null";  // JSON has no inf: null means "not finite" (a failure)
  char b[40];
  std::snprintf(b, sizeof b, "%.3g", v);
  return b;
}

class Report {
 public:
  // Folds a comparison into a case; the case fails if any comparison does.
  static void fold(Case& c, const Compare& cmp) {
    c.checked += cmp.checked;
    c.max_abs = std::fmax(c.max_abs, cmp.max_abs);
    c.max_rel = std::isfinite(cmp.max_rel) ? std::fmax(c.max_rel, cmp.max_rel) : INFINITY;
    if (cmp.bad) {
      c.pass = false;
      if (!c.detail.empty()) c.detail += "; ";
      c.detail += std::to_string(cmp.bad) + " of " + std::to_string(cmp.checked) + " wrong, first: " + cmp.first_bad;
    }
  }
  void add(Case c) { cases_.push_back(std::move(c)); }
  void death(std::string name, std::string expect) { deaths_.push_back({std::move(name), std::move(expect)}); }

  // Prints the JSON line; returns the exit status (1 if any case failed).
  int print(const char* program) const {
    std::string o = "{\"program\":" + json_string(program) + ",\"cases\":[";
    bool ok = true;
    for (size_t i = 0; i < cases_.size(); ++i) {
      const Case& c = cases_[i];
      ok = ok && c.pass;
      o += (i ? "," : "") + std::string("{\"name\":") + json_string(c.name) + ",\"pass\":" + (c.pass ? "true" : "false") +
           ",\"checked\":" + std::to_string(c.checked) + ",\"max_abs\":" + json_number(c.max_abs) +
           ",\"max_rel\":" + json_number(c.max_rel) + ",\"seconds\":" + json_number(c.seconds) +
           ",\"detail\":" + json_string(c.detail) + "}";
    }
    o += "],\"death\":[";
    for (size_t i = 0; i < deaths_.size(); ++i)
      o += (i ? "," : "") + std::string("{\"name\":") + json_string(deaths_[i].first) +
           ",\"expect\":" + json_string(deaths_[i].second) + "}";
    o += "]}";
    std::printf("%s\n", o.c_str());
    std::fflush(stdout);
    return ok ? 0 : 1;
  }

 private:
  std::vector<Case> cases_;
  std::vector<std::pair<std::string, std::string>> deaths_;
};

class Timer {
 public:
  double seconds() const { return std::chrono::duration<double>(std::chrono::steady_clock::now() - t0_).count(); }

 private:
  std::chrono::steady_clock::time_point t0_ = std::chrono::steady_clock::now();
};

}  // namespace emu_test
