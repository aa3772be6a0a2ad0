//! `#[contract]`: one declaration (a module) → dispatch, return data, events, error codes,
//! the interface JSON (docs/interface.md) in the `.tos.interface` section, and host clients.

use std::collections::{BTreeMap, BTreeSet};

use proc_macro2::{Literal, Span, TokenStream};
use quote::{format_ident, quote};
use syn::spanned::Spanned;
use syn::{
    Attribute, Error, Expr, ExprLit, Fields, FnArg, GenericArgument, Ident, Item, ItemEnum, ItemFn,
    ItemMod, ItemStruct, Lit, Meta, Pat, PathArguments, ReturnType, Type,
};

/// Deepest nesting of interface types (docs/interface.md).
const MAX_TYPE_DEPTH: usize = 8;
/// Largest fixed array length of the interface's type grammar.
const MAX_ARRAY_LEN: u64 = 4096;
/// Largest interface JSON.
const MAX_INTERFACE_LEN: usize = 64 * 1024;

#[derive(Clone, Copy, PartialEq, Eq)]
enum Kind {
    Constructor,
    Method,
    View,
}

/// What a method's first parameter asks for.
#[derive(Clone, Copy, PartialEq, Eq)]
enum ContextParam {
    None,
    Context,
    View,
}

struct Method {
    ident: Ident,
    kind: Kind,
    /// Runs on an empty input too (`#[method(default)]`).
    default: bool,
    docs: String,
    context: ContextParam,
    args: Vec<(Ident, Type, String)>,
    /// The `Ok` type and its interface type; `None` for `()`.
    returns: Option<(Type, String)>,
    fallible: bool,
    selector: u32,
}

struct Event {
    ident: Ident,
    name: String,
    docs: String,
    fields: Vec<(String, String)>,
}

struct ErrorVariant {
    ident: Ident,
    number: u32,
    docs: String,
}

struct Options {
    name: Option<String>,
    allocator: Option<Ident>,
}

pub fn expand(attr: TokenStream, item: TokenStream) -> syn::Result<TokenStream> {
    let options = parse_options(attr)?;
    let mut module: ItemMod = syn::parse2(item)?;
    let module_span = module.ident.span();
    let Some((_, items)) = module.content.as_mut() else {
        return Err(Error::new(
            module_span,
            "#[contract] needs an inline module: `#[contract] mod token { ... }`",
        ));
    };

    // Structs of the module: the named types methods and events may use.
    let mut structs: BTreeMap<String, ItemStruct> = BTreeMap::new();
    for item in items.iter() {
        if let Item::Struct(s) = item {
            structs.insert(s.ident.to_string(), s.clone());
        }
    }
    let mut types = TypeCollector {
        structs,
        done: BTreeMap::new(),
        visiting: BTreeSet::new(),
    };

    let mut methods = Vec::new();
    let mut events = Vec::new();
    let mut errors: Option<(Ident, String, Vec<ErrorVariant>)> = None;
    // Not collapsed into match guards: `take_*` remove the attribute, which needs `&mut`.
    #[allow(clippy::collapsible_match)]
    for item in items.iter_mut() {
        match item {
            Item::Fn(function) => {
                if let Some((kind, default)) = take_method_attr(&mut function.attrs)? {
                    methods.push(parse_method(function, kind, default, &mut types)?);
                }
            }
            Item::Struct(s) => {
                if take_marker(&mut s.attrs, "event")? {
                    events.push(parse_event(s, &mut types)?);
                }
            }
            Item::Enum(e) => {
                if take_marker(&mut e.attrs, "errors")? {
                    if errors.is_some() {
                        return Err(Error::new(
                            e.ident.span(),
                            "a contract has one #[errors] enum",
                        ));
                    }
                    errors = Some((e.ident.clone(), docs_of(&e.attrs), parse_errors(e)?));
                }
            }
            _ => {}
        }
    }
    check_methods(&methods, module_span)?;
    check_events(&events)?;

    let name = match &options.name {
        Some(name) => name.clone(),
        None => std::env::var("CARGO_PKG_NAME").unwrap_or_else(|_| module.ident.to_string()),
    };
    if name.is_empty()
        || name.len() > 64
        || !name
            .bytes()
            .all(|b| b.is_ascii_lowercase() || b.is_ascii_digit() || b == b'_' || b == b'-')
    {
        return Err(Error::new(
            module_span,
            format!(
                "contract name `{name}` must be 1..=64 characters of [a-z0-9_-]: set one with #[contract(name = \"...\")]"
            ),
        ));
    }

    let json = interface_json(
        &name,
        &docs_of(&module.attrs),
        &methods,
        &events,
        errors.as_ref(),
        &types.done,
    );
    if json.len() > MAX_INTERFACE_LEN {
        return Err(Error::new(
            module_span,
            format!(
                "the interface is {} bytes, more than {MAX_INTERFACE_LEN}",
                json.len()
            ),
        ));
    }

    let generated = generate(&options, &json, &methods, &events, errors.as_ref());
    if let Some((_, items)) = module.content.as_mut() {
        items.push(Item::Verbatim(generated));
    }
    Ok(quote!(#module))
}

fn parse_options(attr: TokenStream) -> syn::Result<Options> {
    let mut options = Options {
        name: None,
        allocator: None,
    };
    let parser = syn::meta::parser(|meta| {
        if meta.path.is_ident("name") {
            let value: syn::LitStr = meta.value()?.parse()?;
            options.name = Some(value.value());
            Ok(())
        } else if meta.path.is_ident("no_allocator") || meta.path.is_ident("custom_allocator") {
            options.allocator = meta.path.get_ident().cloned();
            Ok(())
        } else {
            Err(meta.error(
                "unknown #[contract] option (expected `name = \"...\"`, `no_allocator` or `custom_allocator`)",
            ))
        }
    });
    syn::parse::Parser::parse2(parser, attr)?;
    Ok(options)
}

/// Removes `#[constructor]`, `#[method]`, `#[method(default)]` or `#[view]`; returns which.
fn take_method_attr(attrs: &mut Vec<Attribute>) -> syn::Result<Option<(Kind, bool)>> {
    let mut found = None;
    let mut error = None;
    attrs.retain(|attr| {
        let kind = if attr.path().is_ident("constructor") {
            Kind::Constructor
        } else if attr.path().is_ident("method") {
            Kind::Method
        } else if attr.path().is_ident("view") {
            Kind::View
        } else {
            return true;
        };
        let default = match &attr.meta {
            Meta::Path(_) => false,
            Meta::List(list) if kind == Kind::Method && list.tokens.to_string() == "default" => {
                true
            }
            other => {
                error = Some(Error::new(
                    other.span(),
                    "expected #[constructor], #[method], #[method(default)] or #[view]",
                ));
                false
            }
        };
        if found.is_some() {
            error = Some(Error::new(
                attr.span(),
                "a function is one of constructor, method or view",
            ));
        }
        found = Some((kind, default));
        false
    });
    match error {
        Some(error) => Err(error),
        None => Ok(found),
    }
}

/// Removes the marker attribute `#[name]`; returns whether it was there.
fn take_marker(attrs: &mut Vec<Attribute>, name: &str) -> syn::Result<bool> {
    let mut found = false;
    let mut error = None;
    attrs.retain(|attr| {
        if !attr.path().is_ident(name) {
            return true;
        }
        if !matches!(attr.meta, Meta::Path(_)) {
            error = Some(Error::new(
                attr.span(),
                format!("#[{name}] takes no arguments"),
            ));
        }
        found = true;
        false
    });
    match error {
        Some(error) => Err(error),
        None => Ok(found),
    }
}

/// The `///` lines of an item, joined.
fn docs_of(attrs: &[Attribute]) -> String {
    let mut lines = Vec::new();
    for attr in attrs {
        if let Meta::NameValue(nv) = &attr.meta {
            if nv.path.is_ident("doc") {
                if let Expr::Lit(ExprLit {
                    lit: Lit::Str(text),
                    ..
                }) = &nv.value
                {
                    let value = text.value();
                    lines.push(value.strip_prefix(' ').unwrap_or(&value).to_owned());
                }
            }
        }
    }
    lines.join("\n").trim().to_owned()
}

fn is_snake_case(name: &str) -> bool {
    let mut bytes = name.bytes();
    matches!(bytes.next(), Some(b'a'..=b'z' | b'_'))
        && bytes.all(|b| b.is_ascii_lowercase() || b.is_ascii_digit() || b == b'_')
}

fn parse_method(
    function: &ItemFn,
    kind: Kind,
    default: bool,
    types: &mut TypeCollector,
) -> syn::Result<Method> {
    let sig = &function.sig;
    let name = sig.ident.to_string();
    let name = name.strip_prefix("r#").unwrap_or(&name).to_owned();
    if !is_snake_case(&name) {
        return Err(Error::new(
            sig.ident.span(),
            "a method's name is its interface name: snake_case, [a-z_][a-z0-9_]*",
        ));
    }
    if !sig.generics.params.is_empty() || sig.asyncness.is_some() || sig.variadic.is_some() {
        return Err(Error::new(
            sig.span(),
            "a contract method has no generics and is not async",
        ));
    }
    let mut context = ContextParam::None;
    let mut args = Vec::new();
    for (index, input) in sig.inputs.iter().enumerate() {
        let FnArg::Typed(arg) = input else {
            return Err(Error::new(
                input.span(),
                "a contract method is a free function (no `self`)",
            ));
        };
        if let Type::Reference(reference) = &*arg.ty {
            let last = match &*reference.elem {
                Type::Path(path) => path.path.segments.last().map(|s| s.ident.to_string()),
                _ => None,
            };
            context = match (index, last.as_deref(), kind) {
                (0, Some("View"), _) => ContextParam::View,
                (0, Some("Context"), Kind::View) => {
                    return Err(Error::new(
                        arg.ty.span(),
                        "a #[view] never writes: take `&View`, not `&Context`",
                    ))
                }
                (0, Some("Context"), _) => ContextParam::Context,
                _ => {
                    return Err(Error::new(
                        arg.ty.span(),
                        "only the first parameter may be a reference, `&Context` or `&View`; \
                         arguments are owned values decoded from the input",
                    ))
                }
            };
            continue;
        }
        let Pat::Ident(pattern) = &*arg.pat else {
            return Err(Error::new(
                arg.pat.span(),
                "an argument is a plain name: its name is part of the interface",
            ));
        };
        let interface_type = types.interface_type(&arg.ty, 0)?;
        args.push((pattern.ident.clone(), (*arg.ty).clone(), interface_type));
    }
    if default && !args.is_empty() {
        return Err(Error::new(
            sig.ident.span(),
            "#[method(default)] runs on an empty input, so it takes no arguments",
        ));
    }
    let (returns, fallible) = match &sig.output {
        ReturnType::Default => (None, false),
        ReturnType::Type(_, ty) => {
            let (ok, fallible) = match result_ok_type(ty) {
                Some(ok) => (ok, true),
                None => ((**ty).clone(), false),
            };
            if matches!(&ok, Type::Tuple(t) if t.elems.is_empty()) {
                (None, fallible)
            } else {
                let interface_type = types.interface_type(&ok, 0)?;
                (Some((ok, interface_type)), fallible)
            }
        }
    };
    Ok(Method {
        ident: sig.ident.clone(),
        kind,
        default,
        docs: docs_of(&function.attrs),
        context,
        args,
        returns,
        fallible,
        selector: tos_abi::method_selector(&name),
    })
}

/// `T` of `Result<T, E>`.
fn result_ok_type(ty: &Type) -> Option<Type> {
    let Type::Path(path) = ty else { return None };
    let last = path.path.segments.last()?;
    if last.ident != "Result" {
        return None;
    }
    let PathArguments::AngleBracketed(args) = &last.arguments else {
        return None;
    };
    match args.args.first() {
        Some(GenericArgument::Type(ok)) if args.args.len() == 2 => Some(ok.clone()),
        _ => None,
    }
}

fn method_name(method: &Method) -> String {
    let name = method.ident.to_string();
    name.strip_prefix("r#").unwrap_or(&name).to_owned()
}

fn check_methods(methods: &[Method], span: Span) -> syn::Result<()> {
    if methods.is_empty() {
        return Err(Error::new(
            span,
            "a #[contract] declares at least one #[method], #[view] or #[constructor]",
        ));
    }
    let mut selectors: BTreeMap<u32, String> = BTreeMap::new();
    for method in methods {
        let name = method_name(method);
        if let Some(other) = selectors.insert(method.selector, name.clone()) {
            return Err(Error::new(
                method.ident.span(),
                format!("methods `{other}` and `{name}` have the same selector; rename one"),
            ));
        }
    }
    if methods
        .iter()
        .filter(|m| m.kind == Kind::Constructor)
        .count()
        > 1
    {
        return Err(Error::new(
            span,
            "a contract has at most one #[constructor]",
        ));
    }
    if methods.iter().filter(|m| m.default).count() > 1 {
        return Err(Error::new(
            span,
            "at most one #[method(default)] (it runs on an empty input)",
        ));
    }
    Ok(())
}

fn check_events(events: &[Event]) -> syn::Result<()> {
    let mut names = BTreeSet::new();
    for event in events {
        if !names.insert(event.name.clone()) {
            return Err(Error::new(
                event.ident.span(),
                format!("two events are named `{}`", event.name),
            ));
        }
        if event.name.len() > 64 {
            return Err(Error::new(
                event.ident.span(),
                "an event's name is its topic: at most 64 bytes",
            ));
        }
    }
    Ok(())
}

/// `TransferEvent` → `transfer_event`.
fn snake_case(name: &str) -> String {
    let mut out = String::new();
    for (i, c) in name.chars().enumerate() {
        if c.is_ascii_uppercase() {
            if i > 0 {
                out.push('_');
            }
            out.push(c.to_ascii_lowercase());
        } else {
            out.push(c);
        }
    }
    out
}

fn parse_event(s: &ItemStruct, types: &mut TypeCollector) -> syn::Result<Event> {
    if !s.generics.params.is_empty() {
        return Err(Error::new(s.ident.span(), "an event has no generics"));
    }
    let fields = named_fields(s, types)?;
    Ok(Event {
        ident: s.ident.clone(),
        name: snake_case(&s.ident.to_string()),
        docs: docs_of(&s.attrs),
        fields,
    })
}

fn named_fields(s: &ItemStruct, types: &mut TypeCollector) -> syn::Result<Vec<(String, String)>> {
    named_fields_at(s, types, 1)
}

fn parse_errors(e: &ItemEnum) -> syn::Result<Vec<ErrorVariant>> {
    let mut next: u64 = 0;
    let mut variants = Vec::new();
    let mut seen = BTreeSet::new();
    for variant in &e.variants {
        if !matches!(variant.fields, Fields::Unit) {
            return Err(Error::new(
                variant.ident.span(),
                "#[errors] variants carry no data: each is one status code (1000 + its number)",
            ));
        }
        let number = match &variant.discriminant {
            Some((
                _,
                Expr::Lit(ExprLit {
                    lit: Lit::Int(int), ..
                }),
            )) => int.base10_parse::<u64>()?,
            Some((_, other)) => {
                return Err(Error::new(
                    other.span(),
                    "an #[errors] number is an integer literal",
                ))
            }
            None => next,
        };
        let number = u32::try_from(number)
            .map_err(|_| Error::new(variant.ident.span(), "an #[errors] number fits in a u32"))?;
        if !seen.insert(number) {
            return Err(Error::new(
                variant.ident.span(),
                format!("two errors have the number {number}"),
            ));
        }
        next = u64::from(number) + 1;
        variants.push(ErrorVariant {
            ident: variant.ident.clone(),
            number,
            docs: docs_of(&variant.attrs),
        });
    }
    Ok(variants)
}

/// Maps Rust types to the interface's type grammar and collects the module's structs they
/// name (`"types"`).
struct TypeCollector {
    structs: BTreeMap<String, ItemStruct>,
    /// Struct name → its JSON entry.
    done: BTreeMap<String, String>,
    visiting: BTreeSet<String>,
}

impl TypeCollector {
    fn interface_type(&mut self, ty: &Type, depth: usize) -> syn::Result<String> {
        if depth > MAX_TYPE_DEPTH {
            return Err(Error::new(
                ty.span(),
                format!("interface types nest at most {MAX_TYPE_DEPTH} deep"),
            ));
        }
        match ty {
            Type::Group(group) => self.interface_type(&group.elem, depth),
            Type::Paren(paren) => self.interface_type(&paren.elem, depth),
            Type::Array(array) => {
                let len = match &array.len {
                    Expr::Lit(ExprLit {
                        lit: Lit::Int(int), ..
                    }) => int.base10_parse::<u64>()?,
                    other => {
                        return Err(Error::new(
                            other.span(),
                            "an interface array has a literal length",
                        ))
                    }
                };
                if len > MAX_ARRAY_LEN {
                    return Err(Error::new(
                        array.len.span(),
                        format!("interface arrays hold at most {MAX_ARRAY_LEN} elements"),
                    ));
                }
                Ok(format!(
                    "[{}; {len}]",
                    self.interface_type(&array.elem, depth + 1)?
                ))
            }
            Type::Tuple(tuple) => {
                if tuple.elems.is_empty() || tuple.elems.len() > 16 {
                    return Err(Error::new(
                        ty.span(),
                        "an interface tuple has 1 to 16 elements",
                    ));
                }
                let elems = tuple
                    .elems
                    .iter()
                    .map(|e| self.interface_type(e, depth + 1))
                    .collect::<syn::Result<Vec<_>>>()?;
                Ok(format!("({})", elems.join(", ")))
            }
            Type::Path(path) if path.qself.is_none() => {
                let Some(last) = path.path.segments.last() else {
                    return Err(unknown_type(ty));
                };
                let ident = last.ident.to_string();
                let generic = |this: &mut Self| -> syn::Result<String> {
                    match &last.arguments {
                        PathArguments::AngleBracketed(args) if args.args.len() == 1 => {
                            match args.args.first() {
                                Some(GenericArgument::Type(inner)) => {
                                    this.interface_type(inner, depth + 1)
                                }
                                _ => Err(unknown_type(ty)),
                            }
                        }
                        _ => Err(unknown_type(ty)),
                    }
                };
                let simple = matches!(last.arguments, PathArguments::None);
                Ok(match ident.as_str() {
                    "bool" | "u8" | "u16" | "u32" | "u64" | "u128" | "i8" | "i16" | "i32"
                    | "i64" | "i128"
                        if simple =>
                    {
                        ident
                    }
                    "String" if simple => "string".to_owned(),
                    "Address" | "PublicKey" if simple => "address".to_owned(),
                    "Hash" | "Asset" if simple => "hash".to_owned(),
                    "Amount" if simple => "u64".to_owned(),
                    "Vec" => match generic(self)?.as_str() {
                        "u8" => "bytes".to_owned(),
                        inner => format!("vec<{inner}>"),
                    },
                    "Option" => format!("option<{}>", generic(self)?),
                    name if simple && self.structs.contains_key(name) => {
                        self.collect_struct(name, depth)?;
                        name.to_owned()
                    }
                    _ => return Err(unknown_type(ty)),
                })
            }
            _ => Err(unknown_type(ty)),
        }
    }

    fn collect_struct(&mut self, name: &str, depth: usize) -> syn::Result<()> {
        if self.done.contains_key(name) || self.visiting.contains(name) {
            return Ok(());
        }
        let Some(s) = self.structs.get(name).cloned() else {
            return Ok(());
        };
        if !s.generics.params.is_empty() {
            return Err(Error::new(
                s.ident.span(),
                "an interface struct has no generics",
            ));
        }
        self.visiting.insert(name.to_owned());
        let fields = named_fields_at(&s, self, depth + 1)?;
        self.visiting.remove(name);
        let mut entry = String::from("{");
        let docs = docs_of(&s.attrs);
        if !docs.is_empty() {
            entry.push_str(&format!("\"docs\":{},", json_string(&docs)));
        }
        entry.push_str(&format!("\"fields\":{}}}", fields_json(&fields)));
        self.done.insert(name.to_owned(), entry);
        Ok(())
    }
}

fn named_fields_at(
    s: &ItemStruct,
    types: &mut TypeCollector,
    depth: usize,
) -> syn::Result<Vec<(String, String)>> {
    match &s.fields {
        Fields::Named(named) => named
            .named
            .iter()
            .map(|field| {
                let name = field
                    .ident
                    .as_ref()
                    .map(ToString::to_string)
                    .unwrap_or_default();
                Ok((name, types.interface_type(&field.ty, depth)?))
            })
            .collect(),
        Fields::Unit => Ok(Vec::new()),
        Fields::Unnamed(_) => Err(Error::new(
            s.ident.span(),
            "interface structs have named fields (their names are part of the interface)",
        )),
    }
}

fn unknown_type(ty: &Type) -> Error {
    Error::new(
        ty.span(),
        format!(
            "`{}` has no interface type: use bool, u8..u128, i8..i128, String, Vec<T>, Option<T>, \
             [T; N], tuples, Address, Hash, Amount, or a struct declared inside the #[contract] module",
            quote!(#ty)
        ),
    )
}

// ---------------------------------------------------------------------------------------
// JSON (docs/interface.md, format 1)

fn json_string(text: &str) -> String {
    let mut out = String::with_capacity(text.len() + 2);
    out.push('"');
    for c in text.chars() {
        match c {
            '"' => out.push_str("\\\""),
            '\\' => out.push_str("\\\\"),
            '\n' => out.push_str("\\n"),
            '\r' => out.push_str("\\r"),
            '\t' => out.push_str("\\t"),
            c if (c as u32) < 0x20 => out.push_str(&format!("\\u{:04x}", c as u32)),
            c => out.push(c),
        }
    }
    out.push('"');
    out
}

fn fields_json(fields: &[(String, String)]) -> String {
    let items: Vec<String> = fields
        .iter()
        .map(|(name, ty)| {
            format!(
                "{{\"name\":{},\"type\":{}}}",
                json_string(name),
                json_string(ty)
            )
        })
        .collect();
    format!("[{}]", items.join(","))
}

fn interface_json(
    name: &str,
    docs: &str,
    methods: &[Method],
    events: &[Event],
    errors: Option<&(Ident, String, Vec<ErrorVariant>)>,
    types: &BTreeMap<String, String>,
) -> String {
    let mut out = format!("{{\"format\":1,\"name\":{}", json_string(name));
    if !docs.is_empty() {
        out.push_str(&format!(",\"docs\":{}", json_string(docs)));
    }
    let methods: Vec<String> = methods
        .iter()
        .map(|m| {
            let mut entry = format!(
                "{{\"name\":{},\"selector\":{},\"readonly\":{}",
                json_string(&method_name(m)),
                m.selector,
                m.kind == Kind::View
            );
            if m.kind == Kind::Constructor {
                entry.push_str(",\"constructor\":true");
            }
            let mut docs = m.docs.clone();
            if m.default {
                if !docs.is_empty() {
                    docs.push('\n');
                }
                docs.push_str("Also runs on an empty input.");
            }
            if !docs.is_empty() {
                entry.push_str(&format!(",\"docs\":{}", json_string(&docs)));
            }
            let args: Vec<(String, String)> = m
                .args
                .iter()
                .map(|(ident, _, ty)| {
                    let name = ident.to_string();
                    (name.trim_start_matches('_').to_owned(), ty.clone())
                })
                .collect();
            entry.push_str(&format!(",\"args\":{}", fields_json(&args)));
            match &m.returns {
                Some((_, ty)) => entry.push_str(&format!(",\"returns\":{}}}", json_string(ty))),
                None => entry.push_str(",\"returns\":null}"),
            }
            entry
        })
        .collect();
    out.push_str(&format!(",\"methods\":[{}]", methods.join(",")));
    let events: Vec<String> = events
        .iter()
        .map(|e| {
            let mut entry = format!("{{\"name\":{}", json_string(&e.name));
            if !e.docs.is_empty() {
                entry.push_str(&format!(",\"docs\":{}", json_string(&e.docs)));
            }
            entry.push_str(&format!(",\"fields\":{}}}", fields_json(&e.fields)));
            entry
        })
        .collect();
    out.push_str(&format!(",\"events\":[{}]", events.join(",")));
    let errors: Vec<String> = errors
        .map(|(_, _, variants)| {
            variants
                .iter()
                .map(|v| {
                    let mut entry = format!(
                        "{{\"code\":{},\"name\":{}",
                        1000 + u64::from(v.number),
                        json_string(&v.ident.to_string())
                    );
                    if !v.docs.is_empty() {
                        entry.push_str(&format!(",\"docs\":{}", json_string(&v.docs)));
                    }
                    entry.push('}');
                    entry
                })
                .collect()
        })
        .unwrap_or_default();
    out.push_str(&format!(",\"errors\":[{}]", errors.join(",")));
    let types: Vec<String> = types
        .iter()
        .map(|(name, entry)| format!("{}:{entry}", json_string(name)))
        .collect();
    out.push_str(&format!(",\"types\":{{{}}}}}", types.join(",")));
    out
}

// ---------------------------------------------------------------------------------------
// Code

fn generate(
    options: &Options,
    json: &str,
    methods: &[Method],
    events: &[Event],
    errors: Option<&(Ident, String, Vec<ErrorVariant>)>,
) -> TokenStream {
    let json_literal = Literal::string(json);
    let json_bytes = Literal::byte_string(json.as_bytes());
    let json_len = json.len();
    let allocator = match &options.allocator {
        Some(option) => quote!(, #option),
        None => quote!(),
    };

    // Dispatch: selector → decode the arguments → call → return data.
    let selector_consts: Vec<Ident> = methods
        .iter()
        .map(|m| format_ident!("{}", method_name(m).to_uppercase()))
        .collect();
    let arms = methods.iter().zip(&selector_consts).map(|(m, constant)| {
        let function = &m.ident;
        let arg_names: Vec<&Ident> = m.args.iter().map(|(ident, _, _)| ident).collect();
        let decoders = m.args.iter().map(|(ident, ty, interface_type)| {
            if interface_type == "string" {
                quote!(let #ident: #ty = ::tos_sdk::__private::decode_string(&mut __args)?;)
            } else if interface_type == "bytes" {
                quote!(let #ident: #ty = ::tos_sdk::__private::decode_bytes(&mut __args)?;)
            } else if interface_type.starts_with("vec<") {
                quote!(let #ident: #ty = ::tos_sdk::__private::decode_vec(&mut __args)?;)
            } else {
                quote!(let #ident: #ty = ::tos_sdk::__private::decode_arg(&mut __args)?;)
            }
        });
        let context = match m.context {
            ContextParam::None => quote!(),
            ContextParam::Context => quote!(&::tos_sdk::Context::new(),),
            ContextParam::View => quote!(&::tos_sdk::View::new(),),
        };
        let call = quote!(#function(#context #(#arg_names),*));
        let value = if m.fallible {
            quote!(::core::result::Result::map_err(#call, ::core::convert::Into::<::tos_sdk::ContractError>::into)?)
        } else {
            call
        };
        let finish = match &m.returns {
            Some(_) => quote! {
                let __value = #value;
                ::tos_sdk::call::set_return_value(&__value)
            },
            None => quote! {
                #[allow(clippy::let_unit_value)]
                let () = #value;
                ::core::result::Result::Ok(())
            },
        };
        quote! {
            selectors::#constant => {
                #( #decoders )*
                ::tos_sdk::__private::end_of_args(__args)?;
                #finish
            }
        }
    });
    let empty_input = match methods
        .iter()
        .zip(&selector_consts)
        .find(|(m, _)| m.default)
    {
        Some((_, constant)) => quote!((selectors::#constant, &[][..])),
        None => {
            quote!(return ::core::result::Result::Err(::tos_sdk::ContractError::InvalidInstruction))
        }
    };

    let selector_items = methods.iter().zip(&selector_consts).map(|(m, constant)| {
        let selector = m.selector;
        let doc = format!(
            "Selector of `{}` (`tos_abi::method_selector(\"{0}\")`).",
            method_name(m)
        );
        quote!(#[doc = #doc] pub const #constant: u32 = #selector;)
    });

    let call_items = methods.iter().zip(&selector_consts).map(|(m, constant)| {
        let function = &m.ident;
        let arg_names: Vec<&Ident> = m.args.iter().map(|(ident, _, _)| ident).collect();
        let arg_types: Vec<&Type> = m.args.iter().map(|(_, ty, _)| ty).collect();
        let doc = format!(
            "The input of a call to `{}`: its selector, then its arguments in borsh.",
            method_name(m)
        );
        quote! {
            #[doc = #doc]
            #[allow(clippy::too_many_arguments)]
            pub fn #function(#(#arg_names: #arg_types),*) -> ::tos_sdk::__private::Vec<u8> {
                let mut __input = ::tos_sdk::__private::Vec::new();
                __input.extend_from_slice(&super::selectors::#constant.to_le_bytes());
                #( ::tos_sdk::__private::encode_arg(&#arg_names, &mut __input); )*
                __input
            }
        }
    });

    let return_items = methods.iter().filter_map(|m| {
        let (ty, _) = m.returns.as_ref()?;
        let function = &m.ident;
        let doc = format!("Decodes the return data of `{}`.", method_name(m));
        Some(quote! {
            #[doc = #doc]
            pub fn #function(data: &[u8]) -> ::tos_sdk::borsh::io::Result<#ty> {
                ::tos_sdk::borsh::from_slice(data)
            }
        })
    });

    let event_impls = events.iter().map(|e| {
        let ident = &e.ident;
        let name = &e.name;
        quote! {
            impl #ident {
                /// The event's name: its topic in `tos_emit_event`.
                pub const NAME: &'static str = #name;

                /// Emits this event (data: its fields in borsh). Needs the `Context` of a
                /// method: a view emits nothing.
                pub fn emit(&self, _context: &::tos_sdk::Context) -> ::core::result::Result<(), ::tos_sdk::ContractError> {
                    ::tos_sdk::events::emit(Self::NAME, self)
                }
            }
        }
    });
    let event_enum = if events.is_empty() {
        quote!()
    } else {
        let idents: Vec<&Ident> = events.iter().map(|e| &e.ident).collect();
        let names: Vec<Literal> = events
            .iter()
            .map(|e| Literal::byte_string(e.name.as_bytes()))
            .collect();
        quote! {
            /// Every event this contract emits, decoded from (topic, data).
            #[allow(clippy::large_enum_variant)]
            pub enum Event {
                #( #[doc = concat!("A `", stringify!(#idents), "` event.")] #idents(#idents), )*
            }

            impl Event {
                /// Decodes an event of this contract; `None` for another topic or bad data.
                pub fn decode(topic: &[u8], data: &[u8]) -> ::core::option::Option<Event> {
                    match topic {
                        #( #names => ::tos_sdk::borsh::from_slice(data).ok().map(Event::#idents), )*
                        _ => ::core::option::Option::None,
                    }
                }
            }
        }
    };

    let error_items = match errors {
        None => quote!(),
        Some((ident, _, variants)) => {
            let variant_idents: Vec<&Ident> = variants.iter().map(|v| &v.ident).collect();
            let codes: Vec<u64> = variants
                .iter()
                .map(|v| 1000 + u64::from(v.number))
                .collect();
            let numbers: Vec<u32> = variants.iter().map(|v| v.number).collect();
            quote! {
                impl #ident {
                    /// The call's status for this error: 1000 + its number.
                    pub const fn code(&self) -> u64 {
                        match self { #( #ident::#variant_idents => #codes, )* }
                    }

                    /// The error a status stands for (`None` for other statuses).
                    pub const fn from_code(code: u64) -> ::core::option::Option<Self> {
                        match code {
                            #( #codes => ::core::option::Option::Some(#ident::#variant_idents), )*
                            _ => ::core::option::Option::None,
                        }
                    }
                }

                impl ::core::convert::From<#ident> for ::tos_sdk::ContractError {
                    fn from(error: #ident) -> Self {
                        match error { #( #ident::#variant_idents => ::tos_sdk::ContractError::Custom(#numbers), )* }
                    }
                }
            }
        }
    };

    quote! {
        /// This contract's interface (docs/interface.md), as the build embeds it in the
        /// executable's `.tos.interface` section.
        pub const INTERFACE: &str = #json_literal;

        #[cfg(target_arch = "bpf")]
        #[used]
        #[unsafe(link_section = ".tos.interface")]
        static __TOS_INTERFACE: [u8; #json_len] = *#json_bytes;

        /// The method selectors: a call's input starts with one (4 bytes, little-endian).
        pub mod selectors {
            #( #selector_items )*
        }

        /// Encoders of calls: `calls::NAME(args...)` is the input of a call to `NAME`.
        pub mod calls {
            #[allow(unused_imports)]
            use super::*;
            #( #call_items )*
        }

        /// Decoders of return data: `returns::NAME(data)` for each method that returns a value.
        pub mod returns {
            #[allow(unused_imports)]
            use super::*;
            #( #return_items )*
        }

        #( #event_impls )*
        #event_enum
        #error_items

        /// Runs the method the input's selector names (generated by `#[contract]`).
        #[doc(hidden)]
        pub fn __tos_dispatch(__input: &[u8]) -> ::core::result::Result<(), ::tos_sdk::ContractError> {
            let (__selector, __args) = match ::tos_sdk::__private::split_selector(__input)? {
                ::core::option::Option::Some(parts) => parts,
                ::core::option::Option::None => #empty_input,
            };
            #[allow(unused_mut)]
            let mut __args: &[u8] = __args;
            match __selector {
                #( #arms )*
                _ => ::core::result::Result::Err(::tos_sdk::ContractError::InvalidInstruction),
            }
        }

        fn __tos_process(
            _context: &::tos_sdk::Context,
            input: &[u8],
        ) -> ::core::result::Result<(), ::tos_sdk::ContractError> {
            __tos_dispatch(input)
        }

        ::tos_sdk::entrypoint!(__tos_process #allocator);
    }
}
