# Ruby `Net::HTTP` (stdlib): TCPSocket → getaddrinfo → libc, then connect.
require 'net/http'
require_relative 'compat_common'

Compat.run do |url|
  res = Net::HTTP.start(url.host, url.port, open_timeout: Compat::STEP_TIMEOUT_S, read_timeout: Compat::STEP_TIMEOUT_S) do |http|
    http.get(url.path)
  end
  "HTTP #{res.code}"
end
