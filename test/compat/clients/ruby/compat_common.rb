# Shared driver of the Ruby compatibility clients (test/compat/clients/ruby/*.rb).
#
# Contract (the same for every client of every runtime, see docs/COMPATIBILITY.md "Client protocol"): ARGV holds
# `step=url` pairs; for each, in order, print exactly one line on stdout:
#   COMPAT<TAB>step<TAB>ok|error<TAB>what<TAB>detail
# `what` is the program's view: a short result, or the exception class it would rescue (`Errno::EACCES`,
# `SocketError`). Exit code 0 once every step is reported.
require 'uri'

module Compat
  STEP_TIMEOUT_S = 8

  def self.clean(s)
    s.to_s.gsub(/[\t\r\n]+/, ' ')[0, 300]
  end

  def self.report(step, ok, what, detail = '')
    $stdout.write("COMPAT\t#{step}\t#{ok ? 'ok' : 'error'}\t#{clean(what)}\t#{clean(detail)}\n")
    $stdout.flush
  end

  # The exception class chain a program rescues (outer first, then `cause`; Net::HTTP re-raises the same class with
  # the original as cause, so repeats are shown once).
  def self.identity(e)
    parts = []
    while e && parts.size < 6
      parts << e.class.name unless parts.last == e.class.name
      e = e.cause
    end
    parts.join(' > ')
  end

  def self.run
    ARGV.each do |arg|
      step, url = arg.split('=', 2)
      begin
        report(step, true, yield(URI(url), step))
      rescue StandardError => e
        report(step, false, identity(e), e.message)
      end
    end
    exit 0
  end
end
