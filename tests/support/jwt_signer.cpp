#include "tests/support/jwt_signer.hpp"

#include <openssl/bio.h>
#include <openssl/bn.h>
#include <openssl/ec.h>
#include <openssl/err.h>
#include <openssl/evp.h>
#include <openssl/pem.h>
#include <openssl/rand.h>
#include <openssl/x509.h>
#include <openssl/x509v3.h>

#include <memory>

#include "registry/error.hpp"
#include "tests/support/base64.hpp"

namespace envbuild::testing {
namespace {

constexpr int kCoordinateBytes = 32;  // P-256

[[noreturn]] void fail(const std::string& what) {
  char detail[256] = "unknown error";
  unsigned long code = ERR_get_error();
  if (code != 0) ERR_error_string_n(code, detail, sizeof detail);
  ERR_clear_error();
  throw Error(ErrorKind::Internal, "jwt signer: " + what + ": " + detail);
}

template <typename T, void (*Free)(T*)>
struct Deleter {
  void operator()(T* p) const { Free(p); }
};
using X509Ptr = std::unique_ptr<X509, Deleter<X509, X509_free>>;
using BioPtr = std::unique_ptr<BIO, Deleter<BIO, BIO_free_all>>;
using MdCtxPtr = std::unique_ptr<EVP_MD_CTX, Deleter<EVP_MD_CTX, EVP_MD_CTX_free>>;
using EcSigPtr = std::unique_ptr<ECDSA_SIG, Deleter<ECDSA_SIG, ECDSA_SIG_free>>;

void add_extension(X509* cert, int nid, const char* value) {
  X509V3_CTX ctx;
  X509V3_set_ctx_nodb(&ctx);
  X509V3_set_ctx(&ctx, cert, cert, nullptr, nullptr, 0);
  X509_EXTENSION* ext = X509V3_EXT_conf_nid(nullptr, &ctx, nid, value);
  if (!ext) fail("extension " + std::string(value));
  int ok = X509_add_ext(cert, ext, -1);
  X509_EXTENSION_free(ext);
  if (!ok) fail("add extension");
}

X509Ptr make_self_signed(EVP_PKEY* key, const std::string& subject) {
  X509Ptr cert(X509_new());
  if (!cert) fail("X509_new");
  unsigned char serial[16];
  if (RAND_bytes(serial, sizeof serial) != 1) fail("RAND_bytes");
  serial[0] &= 0x7f;  // positive
  BIGNUM* bn = BN_bin2bn(serial, sizeof serial, nullptr);
  bool serial_ok = bn && BN_to_ASN1_INTEGER(bn, X509_get_serialNumber(cert.get()));
  BN_free(bn);
  if (!serial_ok) fail("serial number");
  // Validity brackets "now" generously so clock skew never matters.
  if (!X509_set_version(cert.get(), 2) ||
      !X509_gmtime_adj(X509_getm_notBefore(cert.get()), -3600) ||
      !X509_gmtime_adj(X509_getm_notAfter(cert.get()), 24 * 3600) ||
      !X509_set_pubkey(cert.get(), key)) {
    fail("certificate fields");
  }
  X509_NAME* name = X509_get_subject_name(cert.get());
  if (!X509_NAME_add_entry_by_txt(name, "CN", MBSTRING_ASC,
                                  reinterpret_cast<const unsigned char*>(subject.c_str()), -1, -1,
                                  0) ||
      !X509_set_issuer_name(cert.get(), name)) {
    fail("certificate name");
  }
  add_extension(cert.get(), NID_basic_constraints, "critical,CA:TRUE");
  add_extension(cert.get(), NID_key_usage, "critical,digitalSignature,keyCertSign");
  add_extension(cert.get(), NID_subject_key_identifier, "hash");
  if (X509_sign(cert.get(), key, EVP_sha256()) <= 0) fail("X509_sign");
  return cert;
}

}  // namespace

JwtSigner::JwtSigner(const std::string& subject) {
  key_ = EVP_EC_gen("P-256");
  if (!key_) fail("EC key generation");
  X509Ptr cert = make_self_signed(key_, subject);

  BioPtr bio(BIO_new(BIO_s_mem()));
  if (!bio || PEM_write_bio_X509(bio.get(), cert.get()) != 1) fail("PEM encoding");
  char* data = nullptr;
  long size = BIO_get_mem_data(bio.get(), &data);
  certificate_pem_.assign(data, static_cast<size_t>(size));

  int der_size = i2d_X509(cert.get(), nullptr);
  if (der_size <= 0) fail("DER encoding");
  std::string der(static_cast<size_t>(der_size), '\0');
  auto* out = reinterpret_cast<unsigned char*>(der.data());
  if (i2d_X509(cert.get(), &out) != der_size) fail("DER encoding");
  certificate_der_base64_ = base64_encode(der);
}

JwtSigner::~JwtSigner() { EVP_PKEY_free(key_); }

std::string JwtSigner::sign(const nlohmann::json& claims) const {
  nlohmann::json header = {
      {"typ", "JWT"}, {"alg", "ES256"}, {"x5c", nlohmann::json::array({certificate_der_base64_})}};
  std::string signing_input =
      base64url_encode(header.dump()) + "." + base64url_encode(claims.dump());

  MdCtxPtr ctx(EVP_MD_CTX_new());
  size_t der_size = 0;
  if (!ctx || EVP_DigestSignInit(ctx.get(), nullptr, EVP_sha256(), nullptr, key_) != 1 ||
      EVP_DigestSign(ctx.get(), nullptr, &der_size,
                     reinterpret_cast<const unsigned char*>(signing_input.data()),
                     signing_input.size()) != 1) {
    fail("signature size");
  }
  std::string der(der_size, '\0');
  if (EVP_DigestSign(ctx.get(), reinterpret_cast<unsigned char*>(der.data()), &der_size,
                     reinterpret_cast<const unsigned char*>(signing_input.data()),
                     signing_input.size()) != 1) {
    fail("signing");
  }
  // JWS wants the raw r||s pair, OpenSSL produces DER.
  const auto* p = reinterpret_cast<const unsigned char*>(der.data());
  EcSigPtr sig(d2i_ECDSA_SIG(nullptr, &p, static_cast<long>(der_size)));
  if (!sig) fail("signature decoding");
  std::string raw(2 * kCoordinateBytes, '\0');
  auto* raw_bytes = reinterpret_cast<unsigned char*>(raw.data());
  if (BN_bn2binpad(ECDSA_SIG_get0_r(sig.get()), raw_bytes, kCoordinateBytes) != kCoordinateBytes ||
      BN_bn2binpad(ECDSA_SIG_get0_s(sig.get()), raw_bytes + kCoordinateBytes, kCoordinateBytes) !=
          kCoordinateBytes) {
    fail("signature encoding");
  }
  return signing_input + "." + base64url_encode(raw);
}

}  // namespace envbuild::testing
