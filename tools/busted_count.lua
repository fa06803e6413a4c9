-- busted output handler: the usual terminal output, plus the counts written to
-- $GLS_COUNT_FILE ("passed failed") for tools/run-tests.sh to add up.
return function(options)
  local busted = require("busted")
  local handler = require("busted.outputHandlers.utfTerminal")(options)
  local function write_counts()
    local path = os.getenv("GLS_COUNT_FILE")
    if not path then return nil, true end
    local f = assert(io.open(path, "w"))
    f:write(string.format("%d %d\n", handler.successesCount,
      handler.failuresCount + handler.errorsCount))
    f:close()
    return nil, true
  end
  busted.subscribe({ "suite", "end" }, write_counts)
  return handler
end
