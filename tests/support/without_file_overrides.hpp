#pragma once
// Root reads and writes any file whatever its mode, through two
// capabilities (CAP_DAC_OVERRIDE, CAP_DAC_READ_SEARCH). Tests of
// permission errors lower them in the calling thread's effective set for
// their scope, so the tests run under root as well (CI runs as root);
// threads started meanwhile inherit the lowered set. The permitted set keeps
// both, and the destructor raises them again. Without root this does
// nothing: permissions apply anyway.
namespace envbuild::testing {

class WithoutFileOverrides {
 public:
  WithoutFileOverrides();
  ~WithoutFileOverrides();
  WithoutFileOverrides(const WithoutFileOverrides&) = delete;
  WithoutFileOverrides& operator=(const WithoutFileOverrides&) = delete;

 private:
  bool lowered_ = false;
};

}  // namespace envbuild::testing
