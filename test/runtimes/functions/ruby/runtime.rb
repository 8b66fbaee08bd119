# A minimal Lambda runtime loop in Ruby (no runtime interface client gem: RubyGems is not reachable from this
# project's machines), as a managed Ruby runtime runs it: GET the next invocation from AWS_LAMBDA_RUNTIME_API, call the
# handler, POST its result (or its error). The handler follows the runtime matrix's contract
# (test/runtimes/support/matrix.ts): GET every url (an error fails the invoke), GET every probe ignoring errors.
require 'json'
require 'net/http'
require 'uri'

def handler(event)
  total = 0
  (event['urls'] || []).each do |url|
    res = Net::HTTP.get_response(URI(url))
    raise "#{url}: HTTP #{res.code}" unless res.is_a?(Net::HTTPOK)
    total += res.body.bytesize
  end
  (event['probe'] || []).each do |url|
    begin
      Net::HTTP.get_response(URI(url))
    rescue StandardError, SystemCallError
      nil # a denied destination: the error is the expected outcome
    end
  end
  { 'bytes' => total }
end

api = ENV.fetch('AWS_LAMBDA_RUNTIME_API')
base = '/2018-06-01/runtime/invocation' # origin-form paths, as every runtime interface client sends them
http = Net::HTTP.new(*api.split(':').then { |h, p| [h, Integer(p)] })
http.read_timeout = 3600
loop do
  nxt = http.request(Net::HTTP::Get.new("#{base}/next"))
  id = nxt['Lambda-Runtime-Aws-Request-Id']
  begin
    body = JSON.generate(handler(JSON.parse(nxt.body)))
    http.request(Net::HTTP::Post.new("#{base}/#{id}/response"), body)
  rescue StandardError, SystemCallError => e
    err = JSON.generate('errorMessage' => e.message, 'errorType' => e.class.name)
    http.request(Net::HTTP::Post.new("#{base}/#{id}/error", 'Lambda-Runtime-Function-Error-Type' => e.class.name), err)
  end
end
