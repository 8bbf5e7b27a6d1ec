#pragma once
// Signs registry bearer tokens (JWT, ES256) with a key pair made at
// construction, plus the self-signed X.509 certificate for that key that a
// registry is given as its `rootcertbundle`.
#include <nlohmann/json.hpp>
#include <string>

typedef struct evp_pkey_st EVP_PKEY;

namespace envbuild::testing {

class JwtSigner {
 public:
  // `subject` goes into the certificate's CN.
  explicit JwtSigner(const std::string& subject);
  ~JwtSigner();
  JwtSigner(const JwtSigner&) = delete;
  JwtSigner& operator=(const JwtSigner&) = delete;

  const std::string& certificate_pem() const { return certificate_pem_; }
  // Compact JWS of `claims`. The header carries the certificate as `x5c`,
  // which is how distribution finds the key and checks it against its roots.
  std::string sign(const nlohmann::json& claims) const;

 private:
  EVP_PKEY* key_ = nullptr;
  std::string certificate_pem_;
  std::string certificate_der_base64_;
};

}  // namespace envbuild::testing
