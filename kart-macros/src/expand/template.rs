//! Templates over parameters (`reports/{date:%Y}/{date}.json`), filled by generated code
//! without intermediate strings; the grammar is `kart-grammar`'s, shared with the runtime.

use proc_macro2::TokenStream;
use quote::quote;

use super::Gen;
use kart_grammar::template::{self, Segment};

/// An expression of type `Result<String, String>` filling `lit` from `self`'s parameters.
pub(crate) fn fill(g: &Gen, lit: &syn::LitStr) -> TokenStream {
    // Room for the literal parts and a few parameters without regrowing.
    let capacity = lit.value().len() + 32;
    let write = write(g, lit);
    quote! {
        {
            let mut __text = ::std::string::String::with_capacity(#capacity);
            let __out = &mut __text;
            #write.map(|()| __text)
        }
    }
}

/// An expression of type `Result<(), String>` appending `lit` filled from `self`'s parameters
/// to `__out: &mut String`, `Err(message)` when a parameter cannot be written into a path.
pub(crate) fn write(g: &Gen, lit: &syn::LitStr) -> TokenStream {
    let segments = template::parse(&lit.value()).expect("validated");
    let pushes = segments.iter().map(|seg| match seg {
        Segment::Literal(s) => quote!(__out.push_str(#s);),
        Segment::Param { name, spec } => {
            let f = g
                .params
                .iter()
                .find(|f| &f.name == name)
                .expect("validated");
            let ident = f.ident;
            let ops = g.ops(f);
            let spec = match spec {
                Some(s) => quote!(::core::option::Option::Some(#s)),
                None => quote!(::core::option::Option::None),
            };
            quote!((#ops.write_path)(&self.#ident, #spec, __out)?;)
        }
    });
    quote! {
        (|| -> ::core::result::Result<(), ::std::string::String> {
            #(#pushes)*
            ::core::result::Result::Ok(())
        })()
    }
}
