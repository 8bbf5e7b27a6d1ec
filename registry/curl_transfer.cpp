#include "registry/curl_transfer.hpp"

namespace envbuild::registry {

void set_transfer_defaults(const CurlLibrary& lib, CURL* c, char* errbuf,
                           const TransferLimits& limits) {
  lib.easy_setopt(c, CURLOPT_ERRORBUFFER, errbuf);
  lib.easy_setopt(c, CURLOPT_NOSIGNAL, 1L);
  lib.easy_setopt(c, CURLOPT_PROTOCOLS_STR, "http,https");
  lib.easy_setopt(c, CURLOPT_USERAGENT, "envbuild/" ENVBUILD_VERSION);
  lib.easy_setopt(c, CURLOPT_CONNECTTIMEOUT_MS, static_cast<long>(limits.connect_timeout.count()));
  lib.easy_setopt(c, CURLOPT_LOW_SPEED_LIMIT, limits.low_speed_limit);
  lib.easy_setopt(c, CURLOPT_LOW_SPEED_TIME, static_cast<long>(limits.low_speed_time.count()));
  lib.easy_setopt(c, CURLOPT_TCP_KEEPALIVE, 1L);
  lib.easy_setopt(c, CURLOPT_SSL_VERIFYPEER, 1L);
  lib.easy_setopt(c, CURLOPT_SSL_VERIFYHOST, 2L);
}

}  // namespace envbuild::registry
