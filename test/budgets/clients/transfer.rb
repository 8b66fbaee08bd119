# A Ruby function body for the budget tests (test/budgets/): Net::HTTP, as Ruby Lambda code uses it.
# Usage: ruby transfer.rb download URL | upload URL BYTES — prints one JSON line {"ok","bytes","error"}.
require 'json'
require 'net/http'
require 'uri'

def report(ok, bytes, error = nil)
  err = error && { code: error.class.name, message: error.message }
  puts JSON.generate({ ok: ok, bytes: bytes, error: err })
end

kind, url, size = ARGV
uri = URI(url)
got = 0
begin
  Net::HTTP.start(uri.host, uri.port, read_timeout: 60) do |http|
    if kind == 'download'
      http.request_get(uri.path) { |res| res.read_body { |chunk| got += chunk.bytesize } }
      report(true, got)
    else
      res = http.post(uri.path, 'r' * Integer(size))
      report(res.code == '200', Integer(size))
    end
  end
rescue StandardError => e
  report(false, got, e)
end
