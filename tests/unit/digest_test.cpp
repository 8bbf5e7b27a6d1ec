#include "registry/digest.hpp"

#include <gtest/gtest.h>

#include "registry/blob_io.hpp"
#include "registry/error.hpp"

using namespace envbuild;
using namespace envbuild::registry;

TEST(Digest, HashesKnownVector) {
  EXPECT_EQ(Digest::sha256_of("abc").str(),
            "sha256:ba7816bf8f01cfea414140de5dae2223b00361a396177a9cb410ff61f20015ad");
  EXPECT_EQ(Digest::sha256_of("").hex(),
            "e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855");
}

TEST(Digest, StreamingEqualsOneShot) {
  Hasher h;
  h.update("a");
  h.update("bc");
  EXPECT_EQ(h.finish(), Digest::sha256_of("abc"));
}

TEST(Digest, Sha512Accepted) {
  Hasher h("sha512");
  h.update("abc");
  Digest d = h.finish();
  EXPECT_EQ(d.algorithm(), "sha512");
  EXPECT_EQ(d.hex().substr(0, 16), "ddaf35a193617aba");
  EXPECT_EQ(Digest::parse(d.str()), d);
}

TEST(Digest, RejectsMalformed) {
  for (const char* bad :
       {"", "sha256", "sha256:", "sha256:abc", "md5:0123456789abcdef0123456789abcdef",
        "sha256:E3B0C44298FC1C149AFBF4C8996FB92427AE41E4649B934CA495991B7852B855",
        "sha256:e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b85g"}) {
    Digest d;
    EXPECT_FALSE(Digest::try_parse(bad, d)) << bad;
    EXPECT_THROW(Digest::parse(bad), Error) << bad;
  }
}

TEST(VerifyingReader, DetectsTampering) {
  auto good = Digest::sha256_of("hello");
  VerifyingReader ok(std::make_unique<MemoryBlobReader>("hello"), good, 5);
  EXPECT_EQ(read_all(ok, 100), "hello");
  VerifyingReader bad(std::make_unique<MemoryBlobReader>("hellp"), good, 5);
  try {
    read_all(bad, 100);
    FAIL() << "expected mismatch";
  } catch (const Error& e) {
    EXPECT_NE(std::string(e.what()).find(good.str()), std::string::npos);
  }
  VerifyingReader longer(std::make_unique<MemoryBlobReader>("hello!"), good, 5);
  EXPECT_THROW(read_all(longer, 100), Error);
}
