# Ruby `UDPSocket#send` (stdlib) on an unconnected socket: one datagram, payload = the URL path without its slash.
require 'socket'
require_relative 'compat_common'

Compat.run do |url|
  s = UDPSocket.new(url.host.include?(':') ? Socket::AF_INET6 : Socket::AF_INET)
  begin
    payload = url.path[1..]
    n = s.send(payload, 0, url.host, url.port)
    "sent #{n} bytes"
  ensure
    s.close
  end
end
