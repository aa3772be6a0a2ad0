//! Contract addresses. A contract instance's address is never derived from its code alone:
//! the same code deployed twice gives two independent contracts, and nobody who sees a deploy
//! can take its address with their own constructor first.
//!
//! * The chain hands the VM the address of a deployed contract (its own rule); local blocks
//!   (CLI, replay) use [`deploy_address`]: the deployer and the deploy transaction's hash.
//! * A contract creating an instance (`tos_create_contract`) gets [`create_address`]: the
//!   creator's address and a salt it chooses.
//!
//! Each rule hashes with its own domain tag, so an address of one kind never equals one of
//! the other for the same bytes.

use tos_storage::Hash;

/// Domain tag of [`deploy_address`].
pub const DEPLOY_ADDRESS_DOMAIN: &[u8] = b"tos-vm/deploy-address/v1";
/// Domain tag of [`create_address`].
pub const CREATE_ADDRESS_DOMAIN: &[u8] = b"tos-vm/create-address/v1";

/// blake3(`DEPLOY_ADDRESS_DOMAIN` || deployer || deploy transaction hash).
pub fn deploy_address(deployer: &Hash, deploy_tx: &Hash) -> Hash {
    tagged(DEPLOY_ADDRESS_DOMAIN, deployer, deploy_tx)
}

/// blake3(`CREATE_ADDRESS_DOMAIN` || creator address || salt).
pub fn create_address(creator: &Hash, salt: &Hash) -> Hash {
    tagged(CREATE_ADDRESS_DOMAIN, creator, salt)
}

fn tagged(domain: &[u8], first: &Hash, second: &Hash) -> Hash {
    let mut hasher = blake3::Hasher::new();
    hasher.update(domain);
    hasher.update(&first.0);
    hasher.update(&second.0);
    Hash(*hasher.finalize().as_bytes())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn addresses_depend_on_every_input_and_the_rule() {
        let (a, b) = (Hash([1; 32]), Hash([2; 32]));
        assert_ne!(deploy_address(&a, &b), deploy_address(&b, &a));
        assert_ne!(deploy_address(&a, &b), deploy_address(&a, &a));
        assert_ne!(deploy_address(&a, &b), create_address(&a, &b));
        assert_eq!(deploy_address(&a, &b), deploy_address(&a, &b));
        let mut expected = blake3::Hasher::new();
        expected.update(b"tos-vm/deploy-address/v1");
        expected.update(&[1; 32]);
        expected.update(&[2; 32]);
        assert_eq!(deploy_address(&a, &b).0, *expected.finalize().as_bytes());
    }
}
