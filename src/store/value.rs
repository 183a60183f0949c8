//! Value types. Strings live inline in their table node while they are small and
//! unmodified; everything else is an [`Object`].

/// A value stored behind the node's object pointer.
#[derive(Clone, Debug, PartialEq)]
pub enum Object {
    /// A string that was grown in place (APPEND, SETRANGE, SETBIT...): Valkey's "raw".
    Str(Vec<u8>),
    /// Boxed: a list's bookkeeping is twice the size of the other types', and every
    /// object is stored inline in its keyspace entry, so this keeps a small hash's
    /// entry at 64 bytes.
    List(Box<super::list::List>),
    Hash(super::hash::Hash),
    Set(super::set::Set),
    ZSet(super::zset::ZSet),
}

impl Object {
    /// A list value.
    pub fn list(l: super::list::List) -> Object {
        Object::List(Box::new(l))
    }

    /// The name TYPE reports.
    pub fn type_name(&self) -> &'static str {
        match self {
            Object::Str(_) => "string",
            Object::List(_) => "list",
            Object::Hash(_) => "hash",
            Object::Set(_) => "set",
            Object::ZSet(_) => "zset",
        }
    }

    /// Heap bytes owned by the object, for MEMORY USAGE.
    pub fn mem_usage(&self) -> usize {
        match self {
            Object::Str(s) => s.capacity(),
            Object::List(v) => v.mem_usage(),
            Object::Hash(v) => v.mem_usage(),
            Object::Set(v) => v.mem_usage(),
            Object::ZSet(v) => v.mem_usage(),
        }
    }

    /// The name OBJECT ENCODING reports for a non-inline value.
    pub fn encoding(&self) -> &'static str {
        match self {
            Object::Str(_) => "raw",
            Object::List(v) => v.encoding(),
            Object::Hash(v) => v.encoding(),
            Object::Set(v) => v.encoding(),
            Object::ZSet(v) => v.encoding(),
        }
    }
}

/// A borrowed view of a stored value.
#[derive(Clone, Copy, Debug)]
pub enum ValueRef<'a> {
    Str(&'a [u8]),
    Obj(&'a Object),
}

impl<'a> ValueRef<'a> {
    pub fn type_name(&self) -> &'static str {
        match self {
            ValueRef::Str(_) => "string",
            ValueRef::Obj(o) => o.type_name(),
        }
    }

    /// The bytes of a string value, or None for other types.
    pub fn as_str(&self) -> Option<&'a [u8]> {
        match *self {
            ValueRef::Str(s) => Some(s),
            ValueRef::Obj(Object::Str(s)) => Some(s),
            ValueRef::Obj(_) => None,
        }
    }
}
