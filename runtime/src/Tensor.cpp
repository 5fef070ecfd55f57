//===- Tensor.cpp - host tensors and .npy files ---------------------------===//

#include "ampc_rt/Tensor.h"

#include "FileWrite.h"

#include <algorithm>
#include <cerrno>
#include <cmath>
#include <cstdint>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <fstream>
#include <iterator>
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
/// The bytes of a tensor of `shape` with `elementSize`-byte elements, or
/// nothing when they exceed `limit`: what the readers check before they
/// allocate anything.
std::optional<uint64_t> shapeBytes(const std::vector<int64_t> &shape,
                                   uint64_t elementSize,
                                   uint64_t limit = UINT64_MAX) {
  uint64_t bytes = elementSize;
  for (int64_t d : shape) {
    if (d != 0 && bytes > limit / uint64_t(d))
      return std::nullopt;
    bytes *= uint64_t(d);
  }
  return bytes;
}

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
  // A zero anywhere makes the tensor empty, whatever the other dimensions
  // (the readers only check the products of shapes without a zero).
  if (std::find(shape.begin(), shape.end(), 0) != shape.end())
    return 0;
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

namespace {
/// The bytes left in `in` after its position.
uint64_t bytesLeft(std::istream &in) {
  std::streampos at = in.tellg();
  in.seekg(0, std::ios::end);
  uint64_t left = uint64_t(in.tellg() - at);
  in.seekg(at);
  return left;
}

/// Reads the magic string, the version and the header of a .npy file.
Result<std::string> readNpyHeader(std::istream &in, const std::string &path) {
  using R = Result<std::string>;
  char magic[8];
  if (!in.read(magic, 8) || std::memcmp(magic, "\x93NUMPY", 6) != 0)
    return R::error("'" + path + "' is not a .npy file");
  unsigned major = uint8_t(magic[6]);
  if (major < 1 || major > 3)
    return R::error("'" + path + "': unsupported .npy version " +
                    std::to_string(major));
  // Version 1 has a 2-byte header length, versions 2 and 3 a 4-byte one.
  uint8_t b[4] = {0, 0, 0, 0};
  if (!in.read(reinterpret_cast<char *>(b), major == 1 ? 2 : 4))
    return R::error("'" + path + "': truncated header");
  uint32_t headerLen =
      b[0] | (b[1] << 8) | (b[2] << 16) | (uint32_t(b[3]) << 24);
  // The header must be in the file: checked before allocating it.
  if (headerLen > bytesLeft(in))
    return R::error("'" + path + "': truncated header");
  std::string header(headerLen, '\0');
  if (!in.read(header.data(), headerLen))
    return R::error("'" + path + "': truncated header");
  return header;
}

/// The dimensions of a header's "(2, 3)" (`field` starts after "'shape':").
Result<std::vector<int64_t>> parseNpyShape(const std::string &field,
                                           const std::string &path) {
  using R = Result<std::vector<int64_t>>;
  size_t open = field.find('('), close = field.find(')');
  if (open == std::string::npos || close == std::string::npos)
    return R::error("'" + path + "': no shape in the header");
  std::vector<int64_t> shape;
  std::stringstream dims(field.substr(open + 1, close - open - 1));
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
      return R::error("'" + path + "': bad shape '" +
                      field.substr(open, close - open + 1) + "'");
    shape.push_back(v);
  }
  return shape;
}

/// Reads a .npy file from `in`; `path` names it in messages.
Result<Tensor> readNpyFrom(std::istream &in, const std::string &path) {
  Result<std::string> header = readNpyHeader(in, path);
  if (!header)
    return Result<Tensor>::error(header.message());
  auto field = [&](const std::string &key) -> std::string {
    size_t k = header->find("'" + key + "'");
    if (k == std::string::npos)
      return "";
    size_t colon = header->find(':', k);
    return colon == std::string::npos ? "" : header->substr(colon + 1);
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
  Result<std::vector<int64_t>> shape = parseNpyShape(field("shape"), path);
  if (!shape)
    return Result<Tensor>::error(shape.message());
  // The data must be in the file: checked before allocating it (a forged
  // header could ask for exabytes).
  std::optional<uint64_t> bytes = shapeBytes(*shape, dtypeSize(*dtype));
  if (!bytes)
    return Result<Tensor>::error("'" + path +
                                 "': the shape in the header "
                                 "overflows 64-bit sizes");
  uint64_t available = bytesLeft(in);
  if (*bytes > available)
    return Result<Tensor>::error(
        "'" + path + "': expected " + std::to_string(*bytes) +
        " bytes of data, the file has " + std::to_string(available));
  Tensor tensor(*dtype, *shape);
  if (!in.read(reinterpret_cast<char *>(tensor.data.data()),
               std::streamsize(tensor.data.size())))
    return Result<Tensor>::error("'" + path + "': expected " +
                                 std::to_string(tensor.data.size()) +
                                 " bytes of data, the file is shorter");
  return tensor;
}
} // namespace

Result<Tensor> readNpy(const std::string &path) {
  std::ifstream in(path, std::ios::binary);
  if (!in)
    return Result<Tensor>::error("cannot open '" + path +
                                 "': " + std::strerror(errno));
  return readNpyFrom(in, path);
}

Result<Tensor> parseNpy(std::string_view bytes, const std::string &name) {
  std::istringstream in{std::string(bytes)};
  return readNpyFrom(in, name);
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

/// Literals are typed by hand: a tensor beyond this is a mistake (a single
/// value fills the whole tensor, so the text does not bound its size).
constexpr uint64_t kMaxLiteralBytes = uint64_t(1) << 30;

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

/// "" when `v` is a value of integer type `dtype` (or `dtype` is a float
/// type), else what is wrong with it.
std::string checkIntegerValue(DType dtype, double v) {
  double lo, hi;
  switch (dtype) {
  case DType::I1:
    lo = 0, hi = 1;
    break;
  case DType::I8:
    lo = -128, hi = 127;
    break;
  case DType::I32:
    lo = -2147483648.0, hi = 2147483647.0;
    break;
  case DType::I64:
    // The doubles in [-2^63, 2^63).
    lo = -9223372036854775808.0, hi = 9223372036854774784.0;
    break;
  default:
    return "";
  }
  if (!(v == std::floor(v)))
    return std::string("not an integer (the type is ") + dtypeName(dtype) + ")";
  if (v < lo || v > hi)
    return std::string("out of range for ") + dtypeName(dtype);
  return "";
}

} // namespace

namespace {

/// Stores `v` as element `i` of `tensor` (rounded to nearest even for the
/// narrow float types; integers are checked by checkIntegerValue first).
void storeElement(Tensor &tensor, int64_t i, double v) {
  switch (tensor.dtype) {
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

/// The numbers after '=' (separated by spaces, commas or brackets), each
/// checked for `dtype`.
Result<std::vector<double>> parseLiteralValues(std::string rest, DType dtype,
                                               std::string_view text) {
  for (char &c : rest)
    if (c == ',' || c == '[' || c == ']')
      c = ' ';
  std::vector<double> values;
  std::stringstream stream(rest);
  std::string token;
  while (stream >> token) {
    char *end = nullptr;
    double v = std::strtod(token.c_str(), &end);
    // The whole token (a NUL in the text is not the end of a number).
    if (end != token.c_str() + token.size() || token.empty())
      return Result<std::vector<double>>::error(
          "bad value '" + token + "' in '" + std::string(text) + "'");
    if (std::string error = checkIntegerValue(dtype, v); !error.empty())
      return Result<std::vector<double>>::error(
          "bad value '" + token + "' in '" + std::string(text) + "': " + error);
    values.push_back(v);
  }
  return values;
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
  // Checked before allocating anything.
  std::optional<uint64_t> bytes =
      shapeBytes(shape, dtypeSize(*dtype), kMaxLiteralBytes);
  if (!bytes)
    return Result<Tensor>::error("a tensor literal of more than 1 GiB in '" +
                                 std::string(text) +
                                 "' (give large inputs as .npy files)");
  uint64_t elements = *bytes / dtypeSize(*dtype);
  auto values =
      parseLiteralValues(std::string(text.substr(eq + 1)), *dtype, text);
  if (!values)
    return Result<Tensor>::error(values.message());
  if (values->size() != 1 && values->size() != elements)
    return Result<Tensor>::error(
        std::to_string(values->size()) + " values for a tensor of " +
        std::to_string(elements) + " elements in '" + std::string(text) + "'");
  Tensor tensor(*dtype, shape);
  if (values->size() == 1 && elements > 0) {
    // One value fills the tensor: converted once, then copied.
    storeElement(tensor, 0, values->front());
    // Doubling the filled prefix: log2(n) copies.
    for (size_t done = dtypeSize(*dtype); done < tensor.data.size(); done *= 2)
      std::memcpy(tensor.data.data() + done, tensor.data.data(),
                  std::min(done, tensor.data.size() - done));
    return tensor;
  }
  for (uint64_t i = 0; i < elements; ++i)
    storeElement(tensor, int64_t(i), (*values)[i]);
  return tensor;
}

namespace {

/// The bytes of an IDX file as it is stored: plain, or gzip (one or more
/// members), decompressed as they are read.
class IdxBytes {
public:
  explicit IdxBytes(std::string_view input) : input(input) {
    gz = input.size() >= 2 && uint8_t(input[0]) == 0x1f &&
         uint8_t(input[1]) == 0x8b;
    if (gz) {
      stream.next_in =
          reinterpret_cast<Bytef *>(const_cast<char *>(input.data()));
      stream.avail_in = uInt(std::min<size_t>(input.size(), 1u << 30));
      pending = input.size() - stream.avail_in;
      ok = inflateInit2(&stream, 16 + MAX_WBITS) == Z_OK;
    }
  }
  ~IdxBytes() {
    if (gz)
      inflateEnd(&stream);
  }
  /// At most this many bytes can come out (deflate expands at most 1032:1).
  uint64_t bound() const {
    return gz ? uint64_t(input.size()) * 1032 : input.size() - offset;
  }
  /// Reads exactly `size` bytes; false when the data ends first or is not
  /// valid gzip.
  bool read(uint8_t *out, size_t size) {
    if (size == 0)
      return true;
    if (!gz) {
      if (size > input.size() - offset)
        return false;
      std::memcpy(out, input.data() + offset, size);
      offset += size;
      return true;
    }
    while (ok && size > 0) {
      uInt chunk = uInt(std::min<size_t>(size, 1u << 30));
      stream.next_out = out;
      stream.avail_out = chunk;
      int rc = inflate(&stream, Z_NO_FLUSH);
      size_t produced = chunk - stream.avail_out;
      out += produced;
      size -= produced;
      refill();
      // The end of a member: done, or the next member (concatenated .gz
      // files read as one).
      if (rc == Z_STREAM_END)
        ok =
            size == 0 || (stream.avail_in > 0 && inflateReset(&stream) == Z_OK);
      else if (rc != Z_OK || (produced == 0 && stream.avail_in == 0))
        ok = false;
    }
    return ok;
  }

private:
  /// zlib takes 32-bit lengths: feeds the input in 1 GiB pieces.
  void refill() {
    if (stream.avail_in == 0 && pending > 0) {
      stream.avail_in = uInt(std::min<size_t>(pending, 1u << 30));
      pending -= stream.avail_in;
    }
  }
  std::string_view input;
  size_t offset = 0, pending = 0;
  bool gz = false, ok = true;
  z_stream stream{};
};

} // namespace

Result<Tensor> parseIdx(std::string_view bytes, const std::string &name) {
  auto fail = [&](const std::string &message) {
    return Result<Tensor>::error("'" + name + "': " + message);
  };
  IdxBytes in(bytes);
  unsigned char magic[4];
  if (!in.read(magic, 4))
    return fail("truncated header");
  if (magic[0] != 0 || magic[1] != 0 || magic[2] != 0x08)
    return fail("not an IDX file of unsigned bytes");
  std::vector<int64_t> shape;
  for (int i = 0; i < magic[3]; ++i) {
    unsigned char d[4];
    if (!in.read(d, 4))
      return fail("truncated header");
    shape.push_back((int64_t(d[0]) << 24) | (d[1] << 16) | (d[2] << 8) | d[3]);
  }
  // Checked before allocating: a forged header could ask for exabytes.
  std::optional<uint64_t> elements = shapeBytes(shape, 1);
  if (!elements)
    return fail("the shape in the header overflows 64-bit sizes");
  if (*elements > in.bound())
    return fail("expected " + std::to_string(*elements) +
                " bytes of data, the file is shorter");
  Tensor tensor(DType::U8, shape);
  if (!in.read(tensor.data.data(), tensor.data.size()))
    return fail("expected " + std::to_string(*elements) +
                " bytes of data, the file is shorter or not valid gzip");
  return tensor;
}

Result<Tensor> readIdx(const std::string &path) {
  std::ifstream in(path, std::ios::binary);
  if (!in)
    return Result<Tensor>::error("cannot open '" + path +
                                 "': " + std::strerror(errno));
  std::string bytes((std::istreambuf_iterator<char>(in)),
                    std::istreambuf_iterator<char>());
  if (in.bad())
    return Result<Tensor>::error("cannot read '" + path +
                                 "': " + std::strerror(errno));
  return parseIdx(bytes, path);
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
