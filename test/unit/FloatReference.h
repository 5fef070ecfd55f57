//===- FloatReference.h - float formats from their definitions --*- C++ -*-===//
//
// An independent reference for the numerics tests: decoding by ldexp of the
// fields of each format (REFERENCE.md's table) and encoding by nearest search
// over all finite values, ties to the even pattern, with the saturating and
// the IEEE/OCP overflow rules. It shares no code with the compiler.
//
//===----------------------------------------------------------------------===//

#ifndef AMPC_TEST_UNIT_FLOATREFERENCE_H
#define AMPC_TEST_UNIT_FLOATREFERENCE_H

#include <algorithm>
#include <cmath>
#include <cstdint>
#include <iterator>
#include <utility>
#include <vector>

namespace ampc::testing {

struct Format {
  const char *name; // MLIR type name
  int width, mantissa, exponent, bias;
  bool ieee; // false: f8E4M3FN (no inf, NaN only S.1111.111)
};

inline const Format kF16{"f16", 16, 10, 5, 15, true};
inline const Format kBF16{"bf16", 16, 7, 8, 127, true};
inline const Format kE4M3{"f8E4M3FN", 8, 3, 4, 7, false};
inline const Format kE5M2{"f8E5M2", 8, 2, 5, 15, true};

/// The NaN conversions produce (without sign): IEEE formats' quiet NaN
/// (all-ones exponent, the top mantissa bit), f8E4M3FN's only NaN
/// (S.1111.111).
inline uint32_t quietNaN(const Format &f) {
  uint32_t exponent = ((1u << f.exponent) - 1) << f.mantissa;
  return f.ieee ? exponent | (1u << (f.mantissa - 1))
                : exponent | ((1u << f.mantissa) - 1);
}

inline double refDecode(const Format &f, uint32_t bits) {
  uint32_t sign = (bits >> (f.width - 1)) & 1;
  uint32_t e = (bits >> f.mantissa) & ((1u << f.exponent) - 1);
  uint32_t m = bits & ((1u << f.mantissa) - 1);
  uint32_t eMax = (1u << f.exponent) - 1;
  double v;
  if (f.ieee && e == eMax)
    v = m == 0 ? INFINITY : NAN;
  else if (!f.ieee && e == eMax && m == (1u << f.mantissa) - 1)
    v = NAN;
  else if (e == 0)
    v = std::ldexp(double(m), 1 - f.bias - f.mantissa);
  else
    v = std::ldexp(double((1u << f.mantissa) + m),
                   int(e) - f.bias - f.mantissa);
  return sign ? -v : v;
}

/// All non-negative finite values of a format, ascending, with their bits.
inline std::vector<std::pair<double, uint32_t>> finiteValues(const Format &f) {
  std::vector<std::pair<double, uint32_t>> values;
  for (uint32_t bits = 0; bits < (1u << (f.width - 1)); ++bits) {
    double v = refDecode(f, bits);
    if (std::isfinite(v))
      values.push_back({v, bits});
  }
  std::sort(values.begin(), values.end());
  return values;
}

struct Expected {
  bool nan;
  uint32_t bits;
};

inline Expected refEncode(const Format &f,
                          const std::vector<std::pair<double, uint32_t>> &table,
                          double x, bool saturate) {
  uint32_t signBit = std::signbit(x) ? 1u << (f.width - 1) : 0;
  if (std::isnan(x))
    return {true, 0};
  double a = std::fabs(x);
  double max = table.back().first;
  double halfUlp = (max - table[table.size() - 2].first) / 2;
  double threshold = max + halfUlp;
  // IEEE: the midpoint rounds to even, which is inf (max has an odd pattern).
  // f8E4M3FN: the midpoint rounds to max (464 -> 448, OCP).
  bool overflow = std::isinf(a) || (f.ieee ? a >= threshold : a > threshold);
  if (overflow) {
    if (saturate)
      return {false, signBit | table.back().second};
    if (f.ieee)
      return {false, signBit | (((1u << f.exponent) - 1) << f.mantissa)};
    return {true, 0};
  }
  if (a >= max)
    return {false, signBit | table.back().second};
  auto hi = std::upper_bound(table.begin(), table.end(),
                             std::make_pair(a, UINT32_MAX));
  auto lo = std::prev(hi);
  if (lo->first == a)
    return {false, signBit | lo->second};
  double dLo = a - lo->first, dHi = hi->first - a;
  uint32_t bits;
  if (dLo < dHi)
    bits = lo->second;
  else if (dHi < dLo)
    bits = hi->second;
  else
    bits = (lo->second & 1) == 0 ? lo->second : hi->second;
  return {false, signBit | bits};
}

} // namespace ampc::testing

#endif // AMPC_TEST_UNIT_FLOATREFERENCE_H
