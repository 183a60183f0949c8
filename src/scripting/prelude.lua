-- Sandbox set up once per interpreter, run as the chunk "=internal" with the real
-- globals and the table of native functions. Scripts never see the real globals:
-- they run with a read-only proxy whose misses raise Valkey's errors, and every
-- library table they can reach is such a proxy too.
local G, R = ...
local dbg = G.debug
local type, error, tostring, select, unpack = type, error, tostring, select, unpack
local rawget, rawset, next, ipairs = rawget, rawset, next, ipairs
local setmetatable, getmetatable, setfenv, getfenv = setmetatable, getmetatable, setfenv, getfenv
local loadstring, load, rawpcall, xpcall = loadstring, load, pcall, xpcall

-- proxy (or guard) -> the real table behind it (true for guards)
local RO = setmetatable({}, { __mode = 'k' })

local function ro_error()
  error('Attempt to modify a readonly table', 2)
end

-- what getmetatable() answers for every protected table: itself protected
local guard = setmetatable({}, { __newindex = ro_error, __metatable = false })
RO[guard] = true

local function readonly(real)
  local p = setmetatable({}, { __index = real, __newindex = ro_error, __metatable = guard })
  RO[p] = real
  return p
end

local function missing_global(_, k)
  error("Script attempted to access nonexistent global variable '" .. tostring(k) .. "'", 2)
end

local function pack(...)
  return { n = select('#', ...), ... }
end

-- "-CODE message" (or "message") as the "CODE message" text of an error table
local function error_text(s)
  local code, msg
  if s:sub(1, 1) == '-' then
    local sp = s:find(' ', 1, true)
    if sp then
      code, msg = s:sub(2, sp - 1), s:sub(sp + 1)
    else
      code, msg = 'ERR', s:sub(2)
    end
  else
    code, msg = 'ERR', s
  end
  msg = (msg:gsub('^[\r\n]+', ''))
  msg = (msg:gsub('[\r\n]+$', ''))
  return code .. ' ' .. msg
end

-- the server API shared by scripts and functions
local api = {}
-- the native functions raise their errors themselves (see `raising`)
api.call = R.call
api.pcall = R.pcall
api.sha1hex = R.sha1hex
api.log = R.log
api.setresp = R.setresp
api.set_repl = R.set_repl
api.acl_check_cmd = R.acl_check_cmd
api.replicate_commands = function() return true end
api.breakpoint = function() return false end
api.debug = function() end
api.error_reply = function(...)
  if select('#', ...) ~= 1 or type((...)) ~= 'string' then
    return { err = 'ERR wrong number or type of arguments' }
  end
  local e = ...
  if e:sub(1, 1) ~= '-' then e = '-' .. e end
  return { err = error_text(e) }
end
api.status_reply = function(...)
  if select('#', ...) ~= 1 or type((...)) ~= 'string' then
    return { err = 'ERR wrong number or type of arguments' }
  end
  return { ok = (...) }
end
local consts = R.constants
for k, v in next, consts do api[k] = v end

-- what FUNCTION LOAD code sees as globals: only register_function, log and constants
local loading = nil
local function register(name, callback, desc, flags)
  if loading == nil then
    return nil, 'ERR server.register_function can only be called on FUNCTION LOAD command'
  end
  loading[#loading + 1] = { name = name, callback = callback, desc = desc, flags = flags }
end
local function register_function(...)
  local n = select('#', ...)
  if n < 1 or n > 2 then
    error({ err = 'ERR wrong number of arguments to server.register_function' }, 0)
  end
  local name, callback, desc, flags
  if n == 1 then
    local t = ...
    if type(t) ~= 'table' then
      error({ err = 'ERR calling server.register_function with a single argument is only applicable to Lua table (representing named arguments).' }, 0)
    end
    for k, v in next, t do
      if type(k) ~= 'string' then
        error({ err = 'ERR named argument key given to server.register_function is not a string' }, 0)
      end
      local lk = k:lower()
      if lk == 'function_name' then
        if type(v) ~= 'string' then
          error({ err = 'ERR function_name argument given to server.register_function must be a string' }, 0)
        end
        name = v
      elseif lk == 'description' then
        if type(v) ~= 'string' then
          error({ err = 'ERR description argument given to server.register_function must be a string' }, 0)
        end
        desc = v
      elseif lk == 'callback' then
        if type(v) ~= 'function' then
          error({ err = 'ERR callback argument given to server.register_function must be a function' }, 0)
        end
        callback = v
      elseif lk == 'flags' then
        if type(v) ~= 'table' then
          error({ err = 'ERR flags argument to server.register_function must be a table representing function flags' }, 0)
        end
        flags = {}
        for _, f in ipairs(v) do
          if type(f) ~= 'string' or not R.valid_flag(f) then
            error({ err = 'ERR unknown flag given' }, 0)
          end
          flags[#flags + 1] = f
        end
      else
        error({ err = 'ERR unknown argument given to server.register_function' }, 0)
      end
    end
    if name == nil then
      error({ err = 'ERR server.register_function must get a function name argument' }, 0)
    end
    if callback == nil then
      error({ err = 'ERR server.register_function must get a callback argument' }, 0)
    end
  else
    name, callback = ...
    if type(name) ~= 'string' then
      error({ err = 'ERR first argument to server.register_function must be a string' }, 0)
    end
    if type(callback) ~= 'function' then
      error({ err = 'ERR second argument to server.register_function must be a function' }, 0)
    end
  end
  local _, e = register(name, callback, desc, flags)
  if e then error({ err = e }, 0) end
end

local libapi = { register_function = register_function, log = api.log }
for k, v in next, consts do libapi[k] = v end
setmetatable(libapi, { __index = missing_global })
local libapi_ro = readonly(libapi)
local libglobals = setmetatable({ server = libapi_ro, redis = libapi_ro }, { __index = missing_global })

-- the libraries, each behind a read-only proxy
local math_t = {}
for k, v in next, G.math do math_t[k] = v end
math_t.random = R.random
math_t.randomseed = R.randomseed
G.math = readonly(math_t)
G.os = readonly({ clock = G.os.clock })
G.string = readonly(G.string)
G.table = readonly(G.table)
G.coroutine = readonly(G.coroutine)
for _, lib in ipairs({ 'cjson', 'bit', 'cmsgpack', 'struct' }) do
  if R[lib] then G[lib] = readonly(R[lib]) end
end
local api_ro = readonly(api)
G.server = api_ro
G.redis = api_ro

-- builtins that would see through or around the proxies
G.setmetatable = function(t, mt)
  if RO[t] ~= nil then error('Attempt to modify a readonly table', 2) end
  return setmetatable(t, mt)
end
G.rawset = function(t, k, v)
  if RO[t] ~= nil then error('Attempt to modify a readonly table', 2) end
  return rawset(t, k, v)
end
G.rawget = function(t, k)
  local r = RO[t]
  if type(r) == 'table' then return rawget(r, k) end
  return rawget(t, k)
end
local function ro_next(t, k)
  local r = RO[t]
  if type(r) == 'table' then return next(r, k) end
  return next(t, k)
end
G.next = ro_next
G.pairs = function(t)
  if type(t) ~= 'table' then error("bad argument #1 to 'pairs' (table expected, got " .. type(t) .. ")", 2) end
  return ro_next, t, nil
end
G.ipairs = function(t)
  local r = RO[t]
  return ipairs(type(r) == 'table' and r or t)
end
-- binary chunks are refused; text chunks get the caller's environment
G.loadstring = function(s, name)
  if type(s) == 'string' and s:byte(1) == 27 then
    return nil, 'binary chunks are not allowed'
  end
  local f, e = loadstring(s, name)
  if f then setfenv(f, getfenv(2)) end
  return f, e
end
G.load = function(fn, name)
  local f, e = load(fn, name)
  if f then
    setfenv(f, getfenv(2))
  end
  return f, e
end
-- a killed script must stop: its error goes through every pcall and xpcall
local killed = R.killed
G.pcall = function(f, ...)
  local res = pack(rawpcall(f, ...))
  if not res[1] then
    local e = res[2]
    local k = killed()
    if k then error({ err = k }, 0) end
    if type(e) == 'table' and type(e.err) == 'string' then
      return false, e.err
    elseif type(e) == 'userdata' then
      return false, (R.errtext(e))
    end
  end
  return unpack(res, 1, res.n)
end
G.xpcall = function(f, h)
  local res = pack(xpcall(f, h))
  local k = not res[1] and killed()
  if k then error({ err = k }, 0) end
  return unpack(res, 1, res.n)
end
G.print, G.dofile, G.loadfile, G.debug, G.module, G.require, G.io, G.package = nil, nil, nil, nil, nil, nil, nil, nil

-- scripts: reads of missing globals and every write fail
local env = setmetatable({}, { __index = G, __newindex = ro_error, __metatable = guard })
RO[env] = G
G._G = env
setmetatable(G, { __index = missing_global, __newindex = ro_error, __metatable = guard })

-- functions: the same, except that library code sees only the load API while loading
local fmeta = { __index = G, __newindex = ro_error, __metatable = guard }
local fenv = setmetatable({}, fmeta)
RO[fenv] = G

-- error objects carry where the error happened: the innermost frame of user code
local function handler(err)
  local lvl, i = 2, nil
  while true do
    i = dbg.getinfo(lvl, 'nSl')
    if not i then break end
    if i.what ~= 'C' and i.source ~= '=internal' then break end
    lvl = lvl + 1
  end
  if type(err) ~= 'table' then
    local raw, counted = false, false
    if type(err) == 'userdata' then
      err, raw, counted = R.errtext(err)
      if not raw and i and i.currentline and i.currentline > 0 then
        err = i.short_src .. ':' .. i.currentline .. ': ' .. err
      end
    end
    if raw then
      err = { err = err, ignore_error_stats_update = counted or nil }
    else
      err = { err = 'ERR ' .. tostring(err) }
    end
  end
  if i then
    err.source = i.source
    err.line = i.currentline
  end
  return err
end

local E = {}
E.env = env
E.fenv = fenv
E.run = function(f) return xpcall(f, handler) end
E.run_function = function(f, keys, args)
  return xpcall(function() return f(keys, args) end, handler)
end
E.begin_load = function()
  loading = {}
  fmeta.__index = libglobals
end
E.end_load = function()
  local l = loading
  loading = nil
  fmeta.__index = G
  return l
end
E.load_pcall = function(f)
  return rawpcall(f)
end
return E
