//===- Tensor.cpp - host tensors and .npy files ---------------------------===//

#include "ampc_rt/Tensor.h"

#include "FileWrite.h"

#include <cerrno>
#include <cmath>
#include <cstdint>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <fstream>
#include <sstream>

#include <zlib.h>

namespace ampc_rt {

namespace {

struct DTypeInfo {
  DType type;
  const char *name;
  size_t size;
  const char *npy; // descr written to .npy
};

const DTypeInfo kTypes[] = {
    {DType::F32, "f32", 4, "<f4"},
    {DType::F64, "f64", 8, "<f8"},
    {DType::F16, "f16", 2, "<f2"},
    {DType::BF16, "bf16", 2, "<u2"},
    {DType::F8E4M3FN, "f8E4M3FN", 1, "|u1"},
    {DType::F8E5M2, "f8E5M2", 1, "|u1"},
    {DType::I1, "i1", 1, "|b1"},
    {DType::I8, "i8", 1, "|i1"},
    {DType::I32, "i32", 4, "<i4"},
    {DType::I64, "i64", 8, "<i8"},
    {DType::U8, "u8", 1, "|u1"},
    {DType::U16, "u16", 2, "<u2"},
};

const DTypeInfo &info(DType type) {
  for (const DTypeInfo &i : kTypes)
    if (i.type == type)
      return i;
  return kTypes[0];
}

/// The dtype that an .npy descr reads as.
std::optional<DType> fromNpyDescr(const std::string &descr) {
  std::string d = descr;
  if (d.size() == 3 && d[0] == '=')
    d[0] = '<';
  if (d == "<f4")
    return DType::F32;
  if (d == "<f8")
    return DType::F64;
  if (d == "<f2")
    return DType::F16;
  if (d == "|b1")
    return DType::I1;
  if (d == "|i1")
    return DType::I8;
  if (d == "<i4")
    return DType::I32;
  if (d == "<i8")
    return DType::I64;
  if (d == "|u1")
    return DType::U8;
  if (d == "<u2")
    return DType::U16;
  return std::nullopt;
}

} // namespace

size_t dtypeSize(DType type) { return info(type).size; }
const char *dtypeName(DType type) { return info(type).name; }

std::optional<DType> parseDType(std::string_view name) {
  for (const DTypeInfo &i : kTypes)
    if (name == i.name)
      return i.type;
  return std::nullopt;
}

Tensor::Tensor(DType dtype, std::vector<int64_t> shape)
    : dtype(dtype), shape(std::move(shape)) {
  data.assign(size_t(numElements()) * dtypeSize(dtype), 0);
}

int64_t Tensor::numElements() const {
  int64_t n = 1;
  for (int64_t d : shape)
    n *= d;
  return n;
}

std::string Tensor::typeString() const {
  std::string s;
  for (int64_t d : shape)
    s += std::to_string(d) + "x";
  return s + dtypeName(dtype);
}

Result<Tensor> readNpy(const std::string &path) {
  std::ifstream in(path, std::ios::binary);
  if (!in)
    return Result<Tensor>::error("cannot open '" + path +
                                 "': " + std::strerror(errno));
  char magic[8];
  if (!in.read(magic, 8) || std::memcmp(magic, "\x93NUMPY", 6) != 0)
    return Result<Tensor>::error("'" + path + "' is not a .npy file");
  unsigned major = uint8_t(magic[6]);
  uint32_t headerLen = 0;
  if (major == 1) {
    uint8_t b[2];
    if (!in.read(reinterpret_cast<char *>(b), 2))
      return Result<Tensor>::error("'" + path + "': truncated header");
    headerLen = b[0] | (b[1] << 8);
  } else if (major == 2 || major == 3) {
    uint8_t b[4];
    if (!in.read(reinterpret_cast<char *>(b), 4))
      return Result<Tensor>::error("'" + path + "': truncated header");
    headerLen = b[0] | (b[1] << 8) | (b[2] << 16) | (uint32_t(b[3]) << 24);
  } else {
    return Result<Tensor>::error("'" + path + "': unsupported .npy version " +
                                 std::to_string(major));
  }
  std::string header(headerLen, '\0');
  if (!in.read(header.data(), headerLen))
    return Result<Tensor>::error("'" + path + "': truncated header");

  auto field = [&](const std::string &key) -> std::string {
    size_t k = header.find("'" + key + "'");
    if (k == std::string::npos)
      return "";
    size_t colon = header.find(':', k);
    return colon == std::string::npos ? "" : header.substr(colon + 1);
  };
  std::string descrField = field("descr");
  size_t q1 = descrField.find('\''), q2 = descrField.find('\'', q1 + 1);
  if (q1 == std::string::npos || q2 == std::string::npos)
    return Result<Tensor>::error("'" + path + "': no dtype in the header");
  std::string descr = descrField.substr(q1 + 1, q2 - q1 - 1);
  std::optional<DType> dtype = fromNpyDescr(descr);
  if (!dtype)
    return Result<Tensor>::error(
        "'" + path + "': unsupported dtype '" + descr +
        "' (supported: float32, float64, float16, bool, int8, int32, int64, "
        "and uint8/uint16 bit patterns of fp8/bf16)");
  std::string fortran = field("fortran_order");
  if (fortran.find("True") < fortran.find(','))
    return Result<Tensor>::error("'" + path +
                                 "': Fortran-ordered arrays are not supported");
  std::string shapeField = field("shape");
  size_t open = shapeField.find('('), close = shapeField.find(')');
  if (open == std::string::npos || close == std::string::npos)
    return Result<Tensor>::error("'" + path + "': no shape in the header");
  std::vector<int64_t> shape;
  std::stringstream dims(shapeField.substr(open + 1, close - open - 1));
  std::string dim;
  while (std::getline(dims, dim, ',')) {
    size_t first = dim.find_first_not_of(" ");
    if (first == std::string::npos)
      continue;
    char *end = nullptr;
    errno = 0;
    long long v = std::strtoll(dim.c_str() + first, &end, 10);
    if (v < 0 || errno == ERANGE || end == dim.c_str() + first ||
        dim.find_first_not_of(" ", size_t(end - dim.c_str())) !=
            std::string::npos)
      return Result<Tensor>::error("'" + path + "': bad shape '" +
                                   shapeField.substr(open, close - open + 1) +
                                   "'");
    shape.push_back(v);
  }
  // The data must be in the file: checked before allocating it (a forged
  // header could ask for exabytes).
  uint64_t bytes = dtypeSize(*dtype);
  for (int64_t d : shape)
    if (d != 0 && bytes > UINT64_MAX / uint64_t(d))
      return Result<Tensor>::error("'" + path +
                                   "': the shape in the header "
                                   "overflows 64-bit sizes");
    else
      bytes *= uint64_t(d);
  std::streampos dataStart = in.tellg();
  in.seekg(0, std::ios::end);
  uint64_t available = uint64_t(in.tellg() - dataStart);
  in.seekg(dataStart);
  if (bytes > available)
    return Result<Tensor>::error(
        "'" + path + "': expected " + std::to_string(bytes) +
        " bytes of data, the file has " + std::to_string(available));
  Tensor tensor(*dtype, shape);
  if (!in.read(reinterpret_cast<char *>(tensor.data.data()),
               std::streamsize(tensor.data.size())))
    return Result<Tensor>::error("'" + path + "': expected " +
                                 std::to_string(tensor.data.size()) +
                                 " bytes of data, the file is shorter");
  return tensor;
}

std::string npyBytes(const Tensor &tensor) {
  std::string shape = "(";
  for (size_t i = 0; i < tensor.shape.size(); ++i)
    shape +=
        std::to_string(tensor.shape[i]) +
        (tensor.shape.size() == 1 ? ","
                                  : (i + 1 < tensor.shape.size() ? ", " : ""));
  shape += ")";
  std::string header = std::string("{'descr': '") + info(tensor.dtype).npy +
                       "', 'fortran_order': False, 'shape': " + shape + ", }";
  size_t total = 10 + header.size() + 1;
  header.append((64 - total % 64) % 64, ' ');
  header += '\n';
  std::string bytes = {'\x93',
                       'N',
                       'U',
                       'M',
                       'P',
                       'Y',
                       1,
                       0,
                       char(header.size() & 0xff),
                       char(header.size() >> 8)};
  bytes += header;
  bytes.append(tensor.data.begin(), tensor.data.end());
  return bytes;
}

std::string writeNpy(const std::string &path, const Tensor &tensor) {
  std::string bytes = npyBytes(tensor);
  // Whole or not at all (see FileWrite.h).
  return detail::writeFileWhole(path, [&](std::FILE *out) {
    return std::fwrite(bytes.data(), 1, bytes.size(), out) == bytes.size();
  });
}

namespace {

/// f32 -> bf16/f16/fp8 bits for literals: round to nearest even, saturating
/// fp8 (the conversions the compiler uses; literals are a convenience).
uint32_t roundToFormat(float value, int mantissa, int exponent, bool ieee,
                       bool saturate) {
  uint32_t bits;
  std::memcpy(&bits, &value, 4);
  uint32_t sign = bits >> 31, abs = bits & 0x7fffffff;
  int width = 1 + exponent + mantissa;
  uint32_t signBit = sign << (width - 1);
  int bias = (1 << (exponent - 1)) - 1;
  uint32_t maxFinite =
      ieee ? ((((1u << exponent) - 2) << mantissa) | ((1u << mantissa) - 1))
           : ((1u << (exponent + mantissa)) - 2);
  uint32_t nan =
      ieee ? (((1u << exponent) - 1) << mantissa) | (1u << (mantissa - 1))
           : ((1u << (exponent + mantissa)) - 1);
  uint32_t inf = ((1u << exponent) - 1) << mantissa;
  if (abs > 0x7f800000)
    return signBit | nan;
  uint32_t overflow = saturate ? maxFinite : (ieee ? inf : nan);
  if (abs == 0x7f800000)
    return signBit | overflow;
  int e = int(abs >> 23) - 127;
  uint32_t full = (abs >> 23) ? ((abs & 0x7fffff) | 0x800000) : abs;
  if (!(abs >> 23))
    e = -126;
  int emin = 1 - bias;
  int shift = 23 - mantissa + std::max(0, emin - e);
  if (shift > 31)
    shift = 31;
  uint32_t r = (uint32_t(std::max(e - emin, 0)) << mantissa) + (full >> shift);
  uint32_t rest = full & ((1u << shift) - 1), half = 1u << (shift - 1);
  if (rest > half || (rest == half && (r & 1)))
    ++r;
  if (r > maxFinite)
    r = overflow;
  return signBit | r;
}

} // namespace

namespace {

/// Literals are typed by hand: more elements than this is a mistake.
constexpr uint64_t kMaxLiteralElements = uint64_t(1) << 31;

/// Reads the "2x3x" of "2x3xf32" into `shape`, leaving `start` at the
/// element type; false for an empty or overlong dimension ("xf32",
/// "2xx3xf32", 2^64 + 1).
bool parseShapePrefix(const std::string &type, std::vector<int64_t> &shape,
                      size_t &start) {
  size_t x;
  while ((x = type.find('x', start)) != std::string::npos) {
    // Not a run of digits up to the 'x': the element type (checked next).
    if (type.find_first_not_of("0123456789", start) != x)
      return true;
    if (x == start || x - start > 12)
      return false;
    shape.push_back(std::stoll(type.substr(start, x - start)));
    if (shape.back() >= (int64_t(1) << 40))
      return false;
    start = x + 1;
  }
  return true;
}

} // namespace

Result<Tensor> parseTensorLiteral(std::string_view text) {
  size_t eq = text.find('=');
  if (eq == std::string_view::npos)
    return Result<Tensor>::error(
        "expected TYPE=VALUES (e.g. 2x3xf32=1 2 3 4 5 6), got '" +
        std::string(text) + "'");
  std::string type(text.substr(0, eq));
  std::vector<int64_t> shape;
  size_t start = 0;
  if (!parseShapePrefix(type, shape, start))
    return Result<Tensor>::error("bad shape in '" + std::string(text) +
                                 "': dimensions are decimal numbers below "
                                 "2^40 separated by 'x' (2x3xf32)");
  std::optional<DType> dtype = parseDType(type.substr(start));
  if (!dtype || *dtype == DType::U8 || *dtype == DType::U16)
    return Result<Tensor>::error("unknown element type '" + type.substr(start) +
                                 "' in '" + std::string(text) + "'");
  uint64_t elements = 1;
  for (int64_t d : shape)
    if (d != 0 && elements > kMaxLiteralElements / uint64_t(d))
      return Result<Tensor>::error("a tensor literal of more than 2^31 "
                                   "elements in '" +
                                   std::string(text) + "'");
    else
      elements *= uint64_t(d);
  if (elements > kMaxLiteralElements)
    return Result<Tensor>::error("a tensor literal of more than 2^31 "
                                 "elements in '" +
                                 std::string(text) + "'");
  Tensor tensor(*dtype, shape);
  std::vector<double> values;
  std::string rest(text.substr(eq + 1));
  for (char &c : rest)
    if (c == ',' || c == '[' || c == ']')
      c = ' ';
  std::stringstream stream(rest);
  std::string token;
  while (stream >> token) {
    char *end = nullptr;
    double v = std::strtod(token.c_str(), &end);
    if (*end != '\0')
      return Result<Tensor>::error("bad value '" + token + "' in '" +
                                   std::string(text) + "'");
    values.push_back(v);
  }
  int64_t n = tensor.numElements();
  if (values.size() == 1)
    values.assign(size_t(n), values[0]);
  if (int64_t(values.size()) != n)
    return Result<Tensor>::error(
        std::to_string(values.size()) + " values for a tensor of " +
        std::to_string(n) + " elements in '" + std::string(text) + "'");
  for (int64_t i = 0; i < n; ++i) {
    double v = values[size_t(i)];
    switch (*dtype) {
    case DType::F32:
      tensor.as<float>()[i] = float(v);
      break;
    case DType::F64:
      tensor.as<double>()[i] = v;
      break;
    case DType::F16:
      tensor.as<uint16_t>()[i] =
          uint16_t(roundToFormat(float(v), 10, 5, true, false));
      break;
    case DType::BF16:
      tensor.as<uint16_t>()[i] =
          uint16_t(roundToFormat(float(v), 7, 8, true, false));
      break;
    case DType::F8E4M3FN:
      tensor.as<uint8_t>()[i] =
          uint8_t(roundToFormat(float(v), 3, 4, false, true));
      break;
    case DType::F8E5M2:
      tensor.as<uint8_t>()[i] =
          uint8_t(roundToFormat(float(v), 2, 5, true, true));
      break;
    case DType::I1:
      tensor.as<uint8_t>()[i] = v != 0;
      break;
    case DType::I8:
      tensor.as<int8_t>()[i] = int8_t(v);
      break;
    case DType::I32:
      tensor.as<int32_t>()[i] = int32_t(v);
      break;
    case DType::I64:
      tensor.as<int64_t>()[i] = int64_t(v);
      break;
    case DType::U8:
    case DType::U16:
      break;
    }
  }
  return tensor;
}

Result<Tensor> readIdx(const std::string &path) {
  gzFile file = gzopen(path.c_str(), "rb"); // reads plain files too
  if (!file)
    return Result<Tensor>::error("cannot open '" + path +
                                 "': " + std::strerror(errno));
  auto fail = [&](const std::string &message) {
    gzclose(file);
    return Result<Tensor>::error("'" + path + "': " + message);
  };
  unsigned char magic[4];
  if (gzread(file, magic, 4) != 4)
    return fail("truncated header");
  if (magic[0] != 0 || magic[1] != 0 || magic[2] != 0x08)
    return fail("not an IDX file of unsigned bytes");
  std::vector<int64_t> shape;
  for (int i = 0; i < magic[3]; ++i) {
    unsigned char d[4];
    if (gzread(file, d, 4) != 4)
      return fail("truncated header");
    shape.push_back((int64_t(d[0]) << 24) | (d[1] << 16) | (d[2] << 8) | d[3]);
  }
  Tensor tensor(DType::U8, shape);
  size_t done = 0;
  while (done < tensor.data.size()) {
    int chunk = int(std::min<size_t>(tensor.data.size() - done, 1 << 30));
    int got = gzread(file, tensor.data.data() + done, unsigned(chunk));
    if (got <= 0)
      return fail("expected " + std::to_string(tensor.data.size()) +
                  " bytes of data, the file is shorter");
    done += size_t(got);
  }
  gzclose(file);
  return tensor;
}

namespace {
double decodeBits(uint32_t bits, int mantissa, int exponent, bool ieee) {
  int width = 1 + exponent + mantissa;
  bool sign = (bits >> (width - 1)) & 1;
  uint32_t e = (bits >> mantissa) & ((1u << exponent) - 1);
  uint32_t m = bits & ((1u << mantissa) - 1);
  int bias = (1 << (exponent - 1)) - 1;
  double v;
  if (ieee && e == (1u << exponent) - 1)
    v = m ? NAN : INFINITY;
  else if (!ieee && e == (1u << exponent) - 1 && m == (1u << mantissa) - 1)
    v = NAN;
  else if (e == 0)
    v = std::ldexp(double(m), 1 - bias - mantissa);
  else
    v = std::ldexp(double((1u << mantissa) | m), int(e) - bias - mantissa);
  return sign ? -v : v;
}
} // namespace

double elementAsDouble(const Tensor &t, int64_t i) {
  switch (t.dtype) {
  case DType::F32:
    return t.as<float>()[i];
  case DType::F64:
    return t.as<double>()[i];
  case DType::F16:
    return decodeBits(t.as<uint16_t>()[i], 10, 5, true);
  case DType::BF16:
    return decodeBits(t.as<uint16_t>()[i], 7, 8, true);
  case DType::F8E4M3FN:
    return decodeBits(t.as<uint8_t>()[i], 3, 4, false);
  case DType::F8E5M2:
    return decodeBits(t.as<uint8_t>()[i], 2, 5, true);
  case DType::I1:
    return t.as<uint8_t>()[i] != 0;
  case DType::I8:
    return t.as<int8_t>()[i];
  case DType::I32:
    return t.as<int32_t>()[i];
  case DType::I64:
    return double(t.as<int64_t>()[i]);
  case DType::U8:
    return t.as<uint8_t>()[i];
  case DType::U16:
    return t.as<uint16_t>()[i];
  }
  return 0;
}

} // namespace ampc_rt
